package io.ports.nat.testsupport;

import io.ports.core.EventLoops;
import io.ports.nat.FirewallProber;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** Child JVM: {@code TIMEOUT_MS ENDPOINT...}; probes them and prints {@code RESULT endpoint reachability}, then {@code DONE}. */
public final class ProberMain {
    private ProberMain() {
    }

    public static void main(String[] args) {
        try (EventLoops loops = EventLoops.builder().threads(1).build()) {
            FirewallProber prober = FirewallProber.builder(loops).timeout(Duration.ofMillis(Long.parseLong(args[0]))).build();
            List<String> endpoints = Arrays.asList(args).subList(1, args.length);
            for (FirewallProber.Result r : prober.probe(endpoints).toCompletableFuture().join().results()) {
                System.out.println("RESULT " + r.endpoint() + " " + r.reachability());
            }
            System.out.println("FIRST " + prober.firstReachable(endpoints).toCompletableFuture().join()
                    .map(FirewallProber.Result::endpoint).orElse("none"));
            System.out.println("DONE");
        }
    }
}
