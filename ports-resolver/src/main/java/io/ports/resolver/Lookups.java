package io.ports.resolver;

import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * Turns questions into cacheable outcomes: the search list, A and AAAA in parallel, CNAME chains
 * (at most {@value #MAX_CNAMES} links, loops detected), negative TTLs from the SOA (RFC 2308).
 */
final class Lookups {
    static final int MAX_CNAMES = 16;

    /** The key of an SRV lookup in the cache, apart from host keys. */
    record SrvKey(String name) {
    }

    /** What one question (after following CNAMEs) gave. */
    private record TypeResult(List<Record> records, long ttl, int rcode, long negativeTtl, Name finalName,
                              InetSocketAddress server) {
        boolean positive() {
            return !records.isEmpty();
        }
    }

    private final DnsTransport transport;
    private final List<Name> search;
    private final int ndots;
    private final FamilyPreference family;

    Lookups(DnsTransport transport, List<Name> search, int ndots, FamilyPreference family) {
        this.transport = transport;
        this.search = List.copyOf(search);
        this.ndots = ndots;
        this.family = family;
    }

    /** What one search candidate gave: a positive outcome, negatives, or a failure. */
    private record Step<V>(ResolverCache.Outcome<V> positive, List<TypeResult> negatives, Throwable failure) {
    }

    private interface Asker<V> {
        CompletableFuture<Step<V>> ask(Name candidate);
    }

    /**
     * Tries the candidates in order. NXDOMAIN and NODATA move on; so does a server failure (as the
     * C library moves on after SERVFAIL), but then the result is a server failure naming every
     * candidate. A timeout stops the search at once, so a dead server does not cost a timeout per
     * search domain.
     */
    private <V> CompletableFuture<ResolverCache.Outcome<V>> search(String input, String typeLabel, List<Name> candidates,
                                                                  int index, Asker<V> asker, List<TypeResult> negatives,
                                                                  List<String> notes, ServerFailureException[] firstFailure) {
        Name candidate = candidates.get(index);
        return asker.ask(candidate).thenCompose(step -> {
            if (step.positive() != null) {
                return CompletableFuture.completedFuture(step.positive());
            }
            if (step.failure() != null) {
                if (!(step.failure() instanceof ServerFailureException sf) || candidates.size() == 1) {
                    return CompletableFuture.failedFuture(asAsked(step.failure(), input, typeLabel));
                }
                if (firstFailure[0] == null) {
                    firstFailure[0] = sf;
                }
                notes.add(candidate.toString(true) + ": " + sf.detail());
            } else {
                negatives.addAll(step.negatives());
                boolean nx = step.negatives().stream().allMatch(r -> r.rcode() == Rcode.NXDOMAIN);
                notes.add(candidate.toString(true) + ": " + (nx ? "NXDOMAIN" : "NODATA"));
            }
            if (index + 1 < candidates.size()) {
                return search(input, typeLabel, candidates, index + 1, asker, negatives, notes, firstFailure);
            }
            if (firstFailure[0] != null) {
                return CompletableFuture.failedFuture(new ServerFailureException(input, typeLabel, firstFailure[0].rcode(),
                        "no name of the search list gave an answer (" + String.join("; ", notes) + ")"));
            }
            return CompletableFuture.completedFuture(negative(input, typeLabel, candidates, negatives));
        });
    }

    /** The failure of one query, renamed to the name and type the caller asked (the query stays in the detail). */
    private static Throwable asAsked(Throwable failure, String input, String typeLabel) {
        if (failure instanceof DnsException e && (!e.name().equals(input) || !e.type().equals(typeLabel))) {
            String detail = "asking " + e.name() + " " + e.type() + ": " + e.detail();
            if (e instanceof DnsTimeoutException t) {
                return new DnsTimeoutException(input, typeLabel, t.servers(), t.attempts(), t.timeout(), detail);
            }
            if (e instanceof ServerFailureException sf) {
                return new ServerFailureException(input, typeLabel, sf.rcode(), detail);
            }
        }
        return failure;
    }

    // ---------------------------------------------------------------- hosts

    CompletableFuture<ResolverCache.Outcome<List<InetAddress>>> host(Object key) {
        String host = (String) key;
        return search(host, family.typeLabel(), Names.candidates(host, search, ndots), 0, qname -> askHost(host, qname),
                new ArrayList<>(), new ArrayList<>(), new ServerFailureException[1]);
    }

    private CompletableFuture<Step<List<InetAddress>>> askHost(String host, Name qname) {
        List<CompletableFuture<TypeResult>> parts = new ArrayList<>(2);
        if (family.wantsV4()) {
            parts.add(follow(qname, Type.A));
        }
        if (family.wantsV6()) {
            parts.add(follow(qname, Type.AAAA));
        }
        return settle(parts).thenApply(settled -> {
            List<TypeResult> positives = new ArrayList<>(2);
            List<TypeResult> negatives = new ArrayList<>(2);
            Throwable failure = null;
            for (Object s : settled) {
                if (s instanceof TypeResult r) {
                    (r.positive() ? positives : negatives).add(r);
                } else if (failure == null || failure instanceof ServerFailureException) {
                    failure = (Throwable) s; // a timeout outranks a server failure: it stops the search
                }
            }
            if (!positives.isEmpty()) {
                return new Step<>(addresses(host, positives), null, null); // one family is enough
            }
            return failure != null ? new Step<>(null, null, failure) : new Step<>(null, negatives, null);
        });
    }

    private ResolverCache.Outcome<List<InetAddress>> addresses(String host, List<TypeResult> positives) {
        String shown = Names.display(host);
        List<InetAddress> v4 = new ArrayList<>();
        List<InetAddress> v6 = new ArrayList<>();
        long ttl = Long.MAX_VALUE;
        for (TypeResult r : positives) {
            ttl = Math.min(ttl, r.ttl());
            for (Record rec : r.records()) {
                try {
                    if (rec instanceof ARecord a) {
                        v4.add(InetAddress.getByAddress(shown, a.getAddress().getAddress()));
                    } else if (rec instanceof AAAARecord aaaa) {
                        v6.add(InetAddress.getByAddress(shown, aaaa.getAddress().getAddress()));
                    }
                } catch (UnknownHostException impossible) {
                    throw new IllegalStateException(impossible);
                }
            }
        }
        return ResolverCache.Outcome.positive(order(v4, v6, family), ttl);
    }

    static List<InetAddress> order(List<InetAddress> v4, List<InetAddress> v6, FamilyPreference family) {
        List<InetAddress> out = new ArrayList<>(v4.size() + v6.size());
        switch (family) {
            case IPV6_FIRST:
                out.addAll(v6);
                out.addAll(v4);
                break;
            case INTERLEAVED:
                for (int i = 0; i < Math.max(v4.size(), v6.size()); i++) {
                    if (i < v6.size()) {
                        out.add(v6.get(i));
                    }
                    if (i < v4.size()) {
                        out.add(v4.get(i));
                    }
                }
                break;
            default:
                out.addAll(v4);
                out.addAll(v6);
                break;
        }
        return List.copyOf(out);
    }

    /** The negative outcome after every candidate answered NXDOMAIN or NODATA. */
    private static <V> ResolverCache.Outcome<V> negative(String host, String typeLabel, List<Name> candidates,
                                                         List<TypeResult> negatives) {
        boolean nodata = false;
        long ttl = Long.MAX_VALUE;
        InetSocketAddress server = null;
        for (TypeResult r : negatives) {
            nodata |= r.rcode() == Rcode.NOERROR;
            ttl = Math.min(ttl, r.negativeTtl()); // -1 (no SOA) anywhere makes it uncacheable
            server = r.server();
        }
        String tried = candidates.stream().map(n -> n.toString(true)).collect(Collectors.joining(", "));
        String from = server == null ? "" : " from " + Names.format(server);
        DnsException e = nodata
                ? new NoDataException(host, typeLabel, "the name exists but has none (tried " + tried + from + ")")
                : new UnknownNameException(host, typeLabel, "NXDOMAIN for " + tried + from);
        return ResolverCache.Outcome.negative(e, ttl);
    }

    // ---------------------------------------------------------------- SRV

    CompletableFuture<ResolverCache.Outcome<List<SrvOrder.Srv>>> srv(Object key) {
        String name = ((SrvKey) key).name();
        return search(name, "SRV", Names.candidates(name, search, ndots), 0, this::askSrv, new ArrayList<>(),
                new ArrayList<>(), new ServerFailureException[1]);
    }

    private CompletableFuture<Step<List<SrvOrder.Srv>>> askSrv(Name qname) {
        return follow(qname, Type.SRV).handle((r, t) -> {
            if (t != null) {
                return new Step<>(null, null, t instanceof CompletionException && t.getCause() != null ? t.getCause() : t);
            }
            if (!r.positive()) {
                return new Step<>(null, List.of(r), null);
            }
            List<SrvOrder.Srv> records = new ArrayList<>(r.records().size());
            for (Record rec : r.records()) {
                SRVRecord s = (SRVRecord) rec;
                records.add(new SrvOrder.Srv(s.getPriority(), s.getWeight(), s.getPort(), s.getTarget().toString()));
            }
            return new Step<>(ResolverCache.Outcome.positive(List.copyOf(records), r.ttl()), null, null);
        });
    }

    // ---------------------------------------------------------------- one type, following CNAMEs

    private CompletableFuture<TypeResult> follow(Name qname, int type) {
        LinkedHashSet<Name> chain = new LinkedHashSet<>();
        chain.add(qname);
        return follow(qname, qname, type, chain, Long.MAX_VALUE);
    }

    private CompletableFuture<TypeResult> follow(Name origin, Name start, int type, LinkedHashSet<Name> chain, long ttlSoFar) {
        return transport.query(start, type).thenCompose(response -> {
            Message m = response.message();
            List<Record> answer = m.getSection(Section.ANSWER);
            Name current = start;
            long ttl = ttlSoFar;
            for (;;) {
                List<Record> data = new ArrayList<>();
                long dataTtl = Long.MAX_VALUE;
                CNAMERecord cname = null;
                for (Record r : answer) {
                    if (r.getDClass() != DClass.IN || !r.getName().equals(current)) {
                        continue;
                    }
                    if (r.getType() == type) {
                        data.add(r);
                        dataTtl = Math.min(dataTtl, r.getTTL());
                    } else if (r.getType() == Type.CNAME && cname == null) {
                        cname = (CNAMERecord) r;
                    }
                }
                if (!data.isEmpty()) {
                    return CompletableFuture.completedFuture(new TypeResult(List.copyOf(data), Math.min(ttl, dataTtl),
                            Rcode.NOERROR, -1, current, response.server()));
                }
                if (cname == null) {
                    break;
                }
                ttl = Math.min(ttl, cname.getTTL());
                Name next = cname.getTarget();
                if (chain.size() > MAX_CNAMES) {
                    return CompletableFuture.failedFuture(new ServerFailureException(origin.toString(true), Type.string(type), -1,
                            "the CNAME chain is longer than " + MAX_CNAMES + " (" + show(chain) + " -> ...)"));
                }
                if (!chain.add(next)) {
                    return CompletableFuture.failedFuture(new ServerFailureException(origin.toString(true), Type.string(type), -1,
                            "CNAME loop " + show(chain) + " -> " + next.toString(true) + " from "
                                    + Names.format(response.server())));
                }
                current = next;
            }
            int rcode = m.getRcode();
            long negativeTtl = negativeTtl(m);
            if (rcode == Rcode.NXDOMAIN) {
                return CompletableFuture.completedFuture(new TypeResult(List.of(), ttl, rcode, negativeTtl, current, response.server()));
            }
            if (current.equals(start) || negativeTtl >= 0) {
                return CompletableFuture.completedFuture(new TypeResult(List.of(), ttl, rcode, negativeTtl, current, response.server()));
            }
            // the chain left what this server answered: ask for where it points
            return follow(origin, current, type, chain, ttl);
        });
    }

    /** min(SOA TTL, SOA MINIMUM) of the SOA in the authority section (RFC 2308), or -1 without one. */
    private static long negativeTtl(Message m) {
        for (Record r : m.getSection(Section.AUTHORITY)) {
            if (r instanceof SOARecord soa) {
                return Math.min(soa.getTTL(), soa.getMinimum());
            }
        }
        return -1;
    }

    private static String show(LinkedHashSet<Name> chain) {
        List<String> names = chain.stream().map(n -> n.toString(true)).collect(Collectors.toList());
        if (names.size() > 6) { // the first three and the last two are enough to find it in the zone
            return String.join(" -> ", names.subList(0, 3)) + " -> ... (" + (names.size() - 5) + " more) -> "
                    + String.join(" -> ", names.subList(names.size() - 2, names.size()));
        }
        return String.join(" -> ", names);
    }

    /** Completes when all have, with each one's result or its failure (unwrapped), in order. */
    private static <T> CompletableFuture<Object[]> settle(List<CompletableFuture<T>> parts) {
        Object[] out = new Object[parts.size()];
        CompletableFuture<Object[]> all = new CompletableFuture<>();
        AtomicInteger remaining = new AtomicInteger(parts.size());
        for (int i = 0; i < parts.size(); i++) {
            int index = i;
            parts.get(i).whenComplete((v, t) -> {
                out[index] = t == null ? v : (t instanceof CompletionException && t.getCause() != null ? t.getCause() : t);
                if (remaining.decrementAndGet() == 0) {
                    all.complete(out);
                }
            });
        }
        return all;
    }
}
