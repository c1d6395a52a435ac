package io.ports.nat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.unix.Errors;
import io.netty.util.NetUtil;
import io.ports.core.EventLoops;
import io.ports.core.Ports;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Finds out which {@code host:port} endpoints a node can reach, by opening a TCP connection to each
 * (and closing it at once): many at a time with bounded concurrency, each within a timeout, all on the
 * shared event loops. Each endpoint is classified:
 * <ul>
 *   <li>{@link Reachability#OPEN}: the connection was accepted;</li>
 *   <li>{@link Reachability#REFUSED}: the host answered with a reset (nobody listens, or a firewall rejects);</li>
 *   <li>{@link Reachability#FILTERED}: nothing came back within the timeout (a firewall drops the packets);</li>
 *   <li>{@link Reachability#UNREACHABLE}: no route to the host or its network, or its name does not resolve.</li>
 * </ul>
 * Results are cached for a short, configurable time, so that a node asking again at start-up does not
 * probe again. {@link #firstReachable} probes an ordered list of candidates (the configured port, then
 * firewall-friendly ones such as 443 and 80) side by side and answers within one timeout.
 */
public final class FirewallProber {

    /** What a probe found. */
    public enum Reachability { OPEN, REFUSED, FILTERED, UNREACHABLE }

    /**
     * One endpoint's probe.
     *
     * @param endpoint     as it was given, for example {@code db.example.com:443}
     * @param reachability the verdict
     * @param elapsed      how long the probe took
     * @param detail       the operating system's words when it was not open, else empty
     */
    public record Result(String endpoint, Reachability reachability, Duration elapsed, String detail) {
        public boolean isOpen() {
            return reachability == Reachability.OPEN;
        }
    }

    /** The probes of one call, in the order the endpoints were given. */
    public record Report(List<Result> results) {
        public Report {
            results = List.copyOf(results);
        }

        public List<Result> open() {
            return results.stream().filter(Result::isOpen).toList();
        }
    }

    private record Cached(Result result, long expiresAt) {
    }

    private final EventLoops loops;
    private final Duration timeout;
    private final int concurrency;
    private final Duration cacheFor;
    private final LongSupplier ticker;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    private FirewallProber(Builder b) {
        this.loops = b.loops;
        this.timeout = b.timeout;
        this.concurrency = b.concurrency;
        this.cacheFor = b.cacheFor;
        this.ticker = b.ticker;
    }

    public static Builder builder(EventLoops loops) {
        return new Builder(loops);
    }

    /**
     * Probes every endpoint, at most {@code concurrency} at a time.
     *
     * @throws IllegalArgumentException (synchronously, before anything is probed) naming an endpoint
     *         that is not {@code HOST:PORT} or {@code [IPv6]:PORT} with a port of 1-65535
     */
    public CompletionStage<Report> probe(List<String> endpoints) {
        List<InetSocketAddress> targets = new ArrayList<>(endpoints.size());
        for (String e : endpoints) {
            targets.add(parse(e));
        }
        List<CompletableFuture<Result>> results = new ArrayList<>(endpoints.size());
        Deque<Runnable> waiting = new ArrayDeque<>();
        int[] running = {0};
        Object lock = new Object();
        for (int i = 0; i < endpoints.size(); i++) {
            String text = endpoints.get(i);
            InetSocketAddress target = targets.get(i);
            CompletableFuture<Result> f = new CompletableFuture<>();
            results.add(f);
            Cached c = cache.get(text);
            if (c != null && ticker.getAsLong() - c.expiresAt() < 0) {
                f.complete(c.result());
                continue;
            }
            Runnable start = () -> probeOne(text, target).whenComplete((r, err) -> {
                cache.put(text, new Cached(r, ticker.getAsLong() + cacheFor.toNanos()));
                f.complete(r);
                Runnable next;
                synchronized (lock) {
                    next = waiting.poll();
                    if (next == null) {
                        running[0]--;
                    }
                }
                if (next != null) {
                    next.run();
                }
            });
            boolean now;
            synchronized (lock) {
                now = running[0] < concurrency;
                if (now) {
                    running[0]++;
                } else {
                    waiting.add(start);
                }
            }
            if (now) {
                start.run();
            }
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .thenApply(v -> new Report(results.stream().map(CompletableFuture::join).toList()));
    }

    /**
     * The first candidate, in the order given, that is open: all are probed side by side, so the answer
     * comes within one timeout, not the sum. Empty when none is reachable.
     */
    public CompletionStage<Optional<Result>> firstReachable(List<String> candidates) {
        return probe(candidates).thenApply(r -> r.results().stream().filter(Result::isOpen).findFirst());
    }

    /** Forgets cached results. */
    public void clearCache() {
        cache.clear();
    }

    private CompletableFuture<Result> probeOne(String text, InetSocketAddress target) {
        long t0 = System.nanoTime();
        CompletableFuture<Result> out = new CompletableFuture<>();
        CompletableFuture<InetSocketAddress> resolved = target.isUnresolved()
                ? CompletableFuture.supplyAsync(() -> {
                    try {
                        return new InetSocketAddress(InetAddress.getByName(target.getHostString()), target.getPort());
                    } catch (UnknownHostException e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                })
                : CompletableFuture.completedFuture(target);
        resolved.whenComplete((addr, err) -> {
            if (err != null) {
                out.complete(new Result(text, Reachability.UNREACHABLE, since(t0), "the name does not resolve: " + err.getCause()));
                return;
            }
            ChannelFuture cf = new Bootstrap().group(loops.group()).channel(loops.socketChannelClass())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(addr);
            cf.addListener(done -> {
                if (done.isSuccess()) {
                    cf.channel().close();
                    out.complete(new Result(text, Reachability.OPEN, since(t0), ""));
                } else {
                    out.complete(new Result(text, classify(done.cause()), since(t0), String.valueOf(done.cause().getMessage())));
                }
            });
        });
        return out;
    }

    static Reachability classify(Throwable t) {
        if (t instanceof ConnectTimeoutException) {
            return Reachability.FILTERED;
        }
        if (t instanceof NoRouteToHostException) {
            return Reachability.UNREACHABLE;
        }
        if (t instanceof Errors.NativeIoException) {
            switch (Math.abs(((Errors.NativeIoException) t).expectedErr())) {
                case 111: return Reachability.REFUSED;       // ECONNREFUSED
                case 101: case 113: return Reachability.UNREACHABLE; // ENETUNREACH, EHOSTUNREACH
                case 110: return Reachability.FILTERED;      // ETIMEDOUT
                default: break;
            }
        }
        String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("refused")) {
            return Reachability.REFUSED;
        }
        if (m.contains("unreachable") || m.contains("no route")) {
            return Reachability.UNREACHABLE;
        }
        if (m.contains("timed out")) {
            return Reachability.FILTERED;
        }
        return t instanceof ConnectException ? Reachability.REFUSED : Reachability.UNREACHABLE;
    }

    private static Duration since(long t0) {
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    /** {@code HOST:PORT}, {@code [IPv6]:PORT}; a literal IP is used as is, a name is resolved when probed. */
    static InetSocketAddress parse(String endpoint) {
        String why;
        if (endpoint == null || endpoint.isBlank()) {
            why = "it is empty";
        } else {
            String s = endpoint.strip();
            int colon = s.lastIndexOf(':');
            if (colon <= 0) {
                why = "the port is missing";
            } else {
                String host = s.substring(0, colon);
                String port = s.substring(colon + 1);
                int p;
                try {
                    p = Ports.parse(port, "port");
                } catch (IllegalArgumentException e) {
                    p = -1;
                }
                if (p < 0) {
                    why = "'" + port + "' is not a port of 1-65535";
                } else if (host.startsWith("[") && host.endsWith("]")) {
                    byte[] b = NetUtil.createByteArrayFromIpAddressString(host.substring(1, host.length() - 1));
                    if (b == null) {
                        why = "'" + host + "' is not an IPv6 address";
                    } else {
                        return new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(host.substring(1, host.length() - 1)), p);
                    }
                } else if (host.contains(":") || host.contains(" ")) {
                    why = "an IPv6 address must be written in brackets, as [::1]:" + port;
                } else {
                    InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
                    return literal != null ? new InetSocketAddress(literal, p) : InetSocketAddress.createUnresolved(host, p);
                }
            }
        }
        throw new IllegalArgumentException("invalid endpoint '" + endpoint + "' to probe: " + why
                + ". Expected HOST:PORT or [IPv6]:PORT, for example db.example.com:443 or [2001:db8::1]:5432");
    }

    /** Configures a {@link FirewallProber}; setters validate. */
    public static final class Builder {
        private final EventLoops loops;
        private Duration timeout = Duration.ofSeconds(2);
        private int concurrency = 32;
        private Duration cacheFor = Duration.ofSeconds(30);
        private LongSupplier ticker = System::nanoTime;

        private Builder(EventLoops loops) {
            this.loops = Objects.requireNonNull(loops, "event loops");
        }

        /** Per-probe timeout; default 2 s. */
        public Builder timeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("probe timeout " + timeout + " must be positive, for example 2s");
            }
            this.timeout = timeout;
            return this;
        }

        /** Probes in flight at once; default 32. */
        public Builder concurrency(int n) {
            if (n < 1 || n > 4096) {
                throw new IllegalArgumentException("probe concurrency " + n + " out of range: expected 1-4096");
            }
            this.concurrency = n;
            return this;
        }

        /** How long a result is reused; default 30 s, 0 to never cache. */
        public Builder cacheFor(Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException("cache time " + d + " must be 0 or positive");
            }
            this.cacheFor = d;
            return this;
        }

        /** Monotonic nanoseconds for the cache; default {@link System#nanoTime()}. */
        public Builder ticker(LongSupplier ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        public FirewallProber build() {
            return new FirewallProber(this);
        }
    }
}
