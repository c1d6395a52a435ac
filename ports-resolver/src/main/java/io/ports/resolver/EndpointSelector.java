package io.ports.resolver;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Chooses the endpoint for the next connection among a set of {@link SrvEndpoint}s, skipping those
 * marked down. Thread-safe; {@link #next()} allocates nothing but its {@link Optional}.
 *
 * <ul>
 * <li>{@link Policy#ROUND_ROBIN}: each endpoint in turn, ignoring priority and weight.</li>
 * <li>{@link Policy#WEIGHTED_RANDOM}: a random endpoint with probability proportional to its weight,
 * ignoring priority; weight-0 endpoints together get 1/(sum+1), uniform when all weights are 0
 * (RFC 2782's draw).</li>
 * <li>{@link Policy#PRIORITY_FAILOVER}: the weighted random draw within the lowest priority that has
 * an endpoint up; when the whole priority is marked down, the next priority (RFC 2782).</li>
 * </ul>
 *
 * <pre>{@code
 * EndpointSelector peers = EndpointSelector.priorityFailover(resolver.resolveSrvBlocking("_db._tcp.cluster.example"));
 * for (Optional<SrvEndpoint> e = peers.next(); e.isPresent(); e = peers.next()) {
 *     if (tryConnect(e.get())) break;
 *     peers.markDown(e.get());
 * }
 * }</pre>
 * Endpoints are identified by target and port (case-insensitive), so marks survive
 * {@link #update(List)} with freshly resolved endpoints.
 */
public final class EndpointSelector {

    /** How {@link #next()} chooses. */
    public enum Policy {
        ROUND_ROBIN, WEIGHTED_RANDOM, PRIORITY_FAILOVER
    }

    private final Policy policy;
    private volatile List<SrvEndpoint> endpoints;
    private final Set<String> down = ConcurrentHashMap.newKeySet();
    private final AtomicInteger cursor = new AtomicInteger();

    private EndpointSelector(Policy policy, List<SrvEndpoint> endpoints) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.endpoints = copy(endpoints);
    }

    public static EndpointSelector of(Policy policy, List<SrvEndpoint> endpoints) {
        return new EndpointSelector(policy, endpoints);
    }

    public static EndpointSelector roundRobin(List<SrvEndpoint> endpoints) {
        return new EndpointSelector(Policy.ROUND_ROBIN, endpoints);
    }

    public static EndpointSelector weightedRandom(List<SrvEndpoint> endpoints) {
        return new EndpointSelector(Policy.WEIGHTED_RANDOM, endpoints);
    }

    public static EndpointSelector priorityFailover(List<SrvEndpoint> endpoints) {
        return new EndpointSelector(Policy.PRIORITY_FAILOVER, endpoints);
    }

    private static List<SrvEndpoint> copy(List<SrvEndpoint> endpoints) {
        List<SrvEndpoint> list = List.copyOf(Objects.requireNonNull(endpoints, "endpoints"));
        if (list.isEmpty()) {
            throw new IllegalArgumentException("endpoints is empty (expected: at least one endpoint to choose from)");
        }
        return list;
    }

    public Policy policy() {
        return policy;
    }

    /** The next endpoint to try, or empty when every endpoint is marked down. */
    public Optional<SrvEndpoint> next() {
        List<SrvEndpoint> all = endpoints;
        switch (policy) {
            case ROUND_ROBIN: {
                int n = all.size();
                int start = Math.floorMod(cursor.getAndIncrement(), n);
                for (int i = 0; i < n; i++) {
                    SrvEndpoint e = all.get((start + i) % n);
                    if (!isDown(e)) {
                        return Optional.of(e);
                    }
                }
                return Optional.empty();
            }
            case WEIGHTED_RANDOM:
                return draw(available());
            default: {
                List<SrvEndpoint> up = available();
                int best = Integer.MAX_VALUE;
                for (SrvEndpoint e : up) {
                    best = Math.min(best, e.priority());
                }
                List<SrvEndpoint> group = new ArrayList<>();
                for (SrvEndpoint e : up) {
                    if (e.priority() == best) {
                        group.add(e);
                    }
                }
                return draw(group);
            }
        }
    }

    private static Optional<SrvEndpoint> draw(List<SrvEndpoint> candidates) {
        if (candidates.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(candidates.get(SrvOrder.pick(candidates, SrvEndpoint::weight, ThreadLocalRandom.current())));
    }

    /** Skips {@code endpoint} (by target and port) until {@link #markUp} or {@link #markAllUp}. */
    public void markDown(SrvEndpoint endpoint) {
        down.add(endpoint.key());
    }

    public void markUp(SrvEndpoint endpoint) {
        down.remove(endpoint.key());
    }

    public void markAllUp() {
        down.clear();
    }

    public boolean isDown(SrvEndpoint endpoint) {
        return !down.isEmpty() && down.contains(endpoint.key());
    }

    /** All endpoints, as given. */
    public List<SrvEndpoint> endpoints() {
        return endpoints;
    }

    /** The endpoints not marked down, in the order given. */
    public List<SrvEndpoint> available() {
        List<SrvEndpoint> out = new ArrayList<>(endpoints.size());
        for (SrvEndpoint e : endpoints) {
            if (!isDown(e)) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * Replaces the endpoints, for example after resolving the SRV name again. Marks of endpoints
     * that remain (same target and port) are kept; marks of endpoints that left are dropped.
     */
    public void update(List<SrvEndpoint> fresh) {
        List<SrvEndpoint> list = copy(fresh);
        Set<String> keys = ConcurrentHashMap.newKeySet();
        for (SrvEndpoint e : list) {
            keys.add(e.key());
        }
        endpoints = list;
        down.retainAll(keys);
    }

    @Override
    public String toString() {
        return "EndpointSelector[" + policy + ", " + endpoints.size() + " endpoints, " + down.size() + " down]";
    }
}
