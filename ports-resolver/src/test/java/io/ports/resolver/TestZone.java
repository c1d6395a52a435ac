package io.ports.resolver;

import java.util.stream.Collectors;
import java.util.stream.IntStream;

/** The zone the tests' knotd serves. SOA MINIMUM 5: NXDOMAIN and NODATA carry a negative TTL of 5 s. */
final class TestZone {
    private TestZone() {
    }

    static final String TEXT = String.join("\n",
            "$ORIGIN cluster.test.",
            "$TTL 300",
            "@        SOA ns.cluster.test. admin.cluster.test. 1 3600 600 86400 5",
            "@        NS ns",
            "ns       A 127.0.0.1",
            "multi    30 A 10.0.0.1",
            "multi    30 A 10.0.0.2",
            "multi    30 A 10.0.0.3",
            "multi    30 AAAA fd00::1",
            "multi    30 AAAA fd00::2",
            "v4only   30 A 10.0.1.1",
            "short    2 A 10.0.2.1",
            "upd      2 A 10.0.2.100",
            "zero     0 A 10.0.3.1",
            "refresh  30 A 10.0.4.1",
            "stale    30 A 10.0.6.1",
            "txtonly  30 TXT \"no addresses here\"",
            "alias    30 CNAME alias2",
            "alias2   20 CNAME multi",
            "loop1    CNAME loop2",
            "loop2    CNAME loop1",
            IntStream.range(0, 20).mapToObj(i -> "chain" + i + " CNAME chain" + (i + 1)).collect(Collectors.joining("\n")),
            "chain20  CNAME multi",
            IntStream.rangeClosed(1, 40).mapToObj(i -> "big 60 A 10.4.0." + i).collect(Collectors.joining("\n")),
            IntStream.rangeClosed(1, 6).mapToObj(i -> "node" + i + " 30 A 10.1.0." + i + "\nnode" + i + " 30 AAAA fd01::" + i)
                    .collect(Collectors.joining("\n")),
            IntStream.rangeClosed(1, 3).mapToObj(i -> "sf" + i + " 30 A 10.5.0." + i).collect(Collectors.joining("\n")),
            IntStream.rangeClosed(1, 64).mapToObj(i -> "p" + i + " 30 A 10.8.0." + i).collect(Collectors.joining("\n")),
            "_db._tcp       30 SRV 10 60 5432 node1",
            "_db._tcp       30 SRV 10 30 5432 node2",
            "_db._tcp       30 SRV 10 10 5432 node3",
            "_db._tcp       30 SRV 20 0 5432 node4",
            "_weights._tcp  30 SRV 10 10 7000 node1",
            "_weights._tcp  30 SRV 10 30 7000 node2",
            "_weights._tcp  30 SRV 10 60 7000 node3",
            "_zero._tcp     30 SRV 10 0 7000 node1",
            "_zero._tcp     30 SRV 10 0 7000 node2",
            "_zero._tcp     30 SRV 10 100 7000 node3",
            "_none._tcp     30 SRV 0 0 0 .",
            "_partial._tcp  30 SRV 10 10 7000 node5",
            "_partial._tcp  30 SRV 10 10 7000 gone",
            "") + "\n";
}
