package io.ports.resolver;

import io.ports.resolver.testsupport.UdpForwarder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lookups against knotd: families, host:port, literals and hosts file, CNAMEs, TCP fallback, errors, failover, forged answers. */
class ResolveTest extends KnotTestSupport {

    @Test
    void resolve_severalAddresses_comeInTheFamilyPreferenceOrder() throws Exception {
        List<String> v4 = List.of("10.0.0.1", "10.0.0.2", "10.0.0.3");
        List<String> v6 = List.of("fd00::1", "fd00::2");
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV4_FIRST).build()) {
            List<InetAddress> got = await(r.resolve("multi.cluster.test"));
            assertEquals(List.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1", "fd00::2"), ips(got));
            assertEquals("multi.cluster.test", got.get(0).getHostName(), "addresses carry the name asked");
        }
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV6_FIRST).build()) {
            assertEquals(List.of("fd00::1", "fd00::2", "10.0.0.1", "10.0.0.2", "10.0.0.3"), ips(await(r.resolve("multi.cluster.test"))));
        }
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.INTERLEAVED).build()) {
            assertEquals(List.of("fd00::1", "10.0.0.1", "fd00::2", "10.0.0.2", "10.0.0.3"), ips(await(r.resolve("multi.cluster.test"))));
        }
        long aaaa = served("query-type[AAAA]");
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            assertEquals(v4, ips(await(r.resolve("multi.cluster.test"))));
        }
        assertEquals(aaaa, served("query-type[AAAA]"), "IPV4_ONLY sends no AAAA query");
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV6_ONLY).build()) {
            assertEquals(v6, ips(await(r.resolve("multi.cluster.test"))));
        }
    }

    @Test
    void resolve_v4OnlyName_withBothFamilies_returnsTheFamilyThatExists() throws Exception {
        try (PortsResolver r = resolver().build()) {
            assertEquals(List.of("10.0.1.1"), ips(await(r.resolve("v4only.cluster.test."))));
        }
    }

    @Test
    void resolveAddress_hostAndPort_givesAnEndpoint() throws Exception {
        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            Endpoint e = await(r.resolveAddress("multi.cluster.test:5432"));
            assertEquals("multi.cluster.test", e.host());
            assertEquals(5432, e.port());
            assertEquals(new InetSocketAddress(InetAddress.getByName("10.0.0.1"), 5432), e.socketAddresses().get(0));
            assertEquals(3, e.socketAddresses().size());

            long before = r.statistics().queries();
            Endpoint v6 = await(r.resolveAddress("[::1]:53"));
            assertEquals(List.of("::1"), ips(v6.addresses()));
            assertEquals(53, v6.port());
            assertEquals(List.of("192.0.2.7"), ips(await(r.resolveAddress("192.0.2.7:80")).addresses()));
            assertEquals(before, r.statistics().queries(), "literals need no query");

            for (String bad : List.of("multi.cluster.test", "multi.cluster.test:0", "multi.cluster.test:65536",
                    "multi.cluster.test:http", "::1:53", "[::1]53", "[not-v6]:53", "multi..test:80", ":80")) {
                Throwable t = failure(r.resolveAddress(bad));
                assertInstanceOf(MalformedNameException.class, t, bad);
                assertTrue(t.getMessage().contains(bad), t.getMessage());
            }
        }
    }

    @Test
    void literalsHostsFileAndLocalhost_resolveWithoutAQuery(@TempDir Path dir) throws Exception {
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "# test hosts\n10.9.9.9 seed1 seed1.alias   # a comment\nfd00::99 seed1\n"
                + "10.9.9.10 v4seed\nbogus line here\n");
        long queriesAtKnot = served("server-operation[query]");
        try (PortsResolver r = resolver().hostsFile(hosts).build()) {
            assertEquals(List.of("10.9.9.9", "fd00::99"), ips(await(r.resolve("seed1"))));
            assertEquals(List.of("10.9.9.9", "fd00::99"), ips(await(r.resolve("SEED1."))));
            assertEquals(List.of("10.9.9.9"), ips(await(r.resolve("seed1.alias"))));
            assertEquals("seed1", await(r.resolve("seed1")).get(0).getHostName());
            assertEquals(List.of("127.0.0.1"), ips(await(r.resolve("127.0.0.1"))));
            assertEquals(List.of("::1"), ips(await(r.resolve("::1"))));
            assertEquals(List.of("fd00::5"), ips(await(r.resolve("[fd00::5]"))));
            assertEquals(List.of("127.0.0.1", "::1"), ips(await(r.resolve("localhost"))));
            assertEquals(List.of("127.0.0.1", "::1"), ips(await(r.resolve("db.localhost"))));
            assertEquals(List.of("10.9.9.9", "fd00::99"), ips(r.resolveBlocking("seed1")));
            assertEquals(0, r.statistics().queries());
            assertEquals(0, r.statistics().size(), "hosts and literals bypass the cache");
        }
        try (PortsResolver r = resolver().hostsFile(hosts).familyPreference(FamilyPreference.IPV6_FIRST).build()) {
            assertEquals(List.of("fd00::99", "10.9.9.9"), ips(await(r.resolve("seed1"))));
        }
        assertEquals(queriesAtKnot, served("server-operation[query]"), "knotd saw no query");
    }

    @Test
    void malformedNames_failWithMalformedNameException_beforeAnyQuery() throws Exception {
        try (PortsResolver r = resolver().build()) {
            for (String bad : List.of("", ".", "a..b", ".leading", "a b.test", "tab\t.test", "x/y.test",
                    "a".repeat(64) + ".test", ("abcdefghi.").repeat(26), "ümlaut.test", "under:score")) {
                Throwable t = failure(r.resolve(bad));
                assertInstanceOf(MalformedNameException.class, t, bad);
                MalformedNameException m = (MalformedNameException) t;
                assertEquals(bad, m.name());
                assertEquals("A/AAAA", m.type());
                assertTrue(m.getMessage().contains("'" + bad + "'") && m.getMessage().contains("A/AAAA"), m.getMessage());
            }
            Throwable srv = failure(r.resolveSrv("_db._tcp..cluster.test"));
            assertInstanceOf(MalformedNameException.class, srv);
            assertEquals("SRV", ((DnsException) srv).type());
            assertInstanceOf(NullPointerException.class, failure(r.resolve(null)));
            assertThrows(MalformedNameException.class, () -> r.resolveBlocking("a..b"));
            assertEquals(0, r.statistics().queries());
            assertEquals(0, r.statistics().misses());
        }
    }

    @Test
    void searchList_relativeNamesTryTheDomainsAsResolvConfSays() throws Exception {
        try (PortsResolver r = resolver().search(List.of("nowhere.test", "cluster.test")).ndots(1)
                .familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            // v4only.nowhere.test is REFUSED by knotd (not its zone): the search moves on, as after SERVFAIL
            assertEquals(List.of("10.0.1.1"), ips(await(r.resolve("v4only"))));
            Throwable t = failure(r.resolve("nosuch"));
            assertInstanceOf(ServerFailureException.class, t, "some candidates were refused: not a definite NXDOMAIN");
            assertTrue(t.getMessage().contains("nosuch.nowhere.test: ") && t.getMessage().contains("nosuch.cluster.test: NXDOMAIN"),
                    t.getMessage());
        }
        try (PortsResolver r = resolver().search(List.of("cluster.test")).ndots(1).familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            assertEquals(List.of("10.0.1.1"), ips(await(r.resolve("v4only"))));
            // two dots >= ndots: asked as is first, then with the suffix; both NXDOMAIN
            Throwable t = failure(r.resolve("nosuch.cluster.test"));
            assertInstanceOf(UnknownNameException.class, t);
            assertTrue(t.getMessage().contains("NXDOMAIN for nosuch.cluster.test, nosuch.cluster.test.cluster.test"), t.getMessage());
        }
    }

    @Test
    void cnameChain_isFollowed_loopsAndOverlongChainsFail() throws Exception {
        try (PortsResolver r = resolver().build()) {
            List<InetAddress> got = await(r.resolve("alias.cluster.test"));
            assertEquals(List.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1", "fd00::2"), ips(got));
            assertEquals("alias.cluster.test", got.get(0).getHostName());

            Throwable loop = failure(r.resolve("loop1.cluster.test"));
            assertInstanceOf(ServerFailureException.class, loop);
            assertTrue(loop.getMessage().contains("CNAME loop") && loop.getMessage().contains("loop1.cluster.test"), loop.getMessage());
            assertEquals(-1, ((ServerFailureException) loop).rcode());

            Throwable chain = failure(r.resolve("chain0.cluster.test"));
            assertInstanceOf(ServerFailureException.class, chain);
            assertTrue(chain.getMessage().contains("longer than 16"), chain.getMessage());
            assertEquals(1, r.statistics().size(), "only the alias is cached: failures are not");
        }
    }

    @Test
    void truncatedAnswer_isAskedAgainOverTcp() throws Exception {
        long udp = served("request-protocol[udp4]");
        long tcp = served("request-protocol[tcp4]");
        try (PortsResolver r = resolver().ednsPayloadSize(0).familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            List<InetAddress> got = await(r.resolve("big.cluster.test"));
            assertEquals(40, got.size());
            assertEquals("10.4.0.1", ips(got).get(0));
            assertEquals(1, r.statistics().tcpQueries());
            assertEquals(2, r.statistics().queries());
        }
        assertEquals(tcp + 1, servedAtLeast("request-protocol[tcp4]", tcp + 1), "one TCP query after the TC bit");
        assertEquals(udp + 1, served("request-protocol[udp4]"));

        try (PortsResolver r = resolver().familyPreference(FamilyPreference.IPV4_ONLY).build()) { // EDNS0 1232: fits
            assertEquals(40, await(r.resolve("big.cluster.test")).size());
            assertEquals(0, r.statistics().tcpQueries());
        }
        assertEquals(tcp + 1, served("request-protocol[tcp4]"));
    }

    @Test
    void unknownNameAndNoData_areTheirOwnExceptions_namingNameAndType() throws Exception {
        try (PortsResolver r = resolver().build()) {
            Throwable nx = failure(r.resolve("missing.cluster.test"));
            assertInstanceOf(UnknownNameException.class, nx);
            assertTrue(nx.getMessage().contains("'missing.cluster.test' (A/AAAA)") && nx.getMessage().contains("NXDOMAIN"),
                    nx.getMessage());
            Throwable nodata = failure(r.resolve("txtonly.cluster.test"));
            assertInstanceOf(NoDataException.class, nodata);
            assertTrue(nodata.getMessage().contains("A/AAAA") && nodata.getMessage().contains("'txtonly.cluster.test'"),
                    nodata.getMessage());
            UnknownNameException thrown = assertThrows(UnknownNameException.class, () -> r.resolveBlocking("missing.cluster.test"));
            assertEquals("missing.cluster.test", thrown.name());
        }
    }

    @Test
    void refusedByTheServer_isServerFailure() throws Exception {
        try (PortsResolver r = resolver().attempts(1).build()) {
            Throwable t = failure(r.resolve("www.example.org")); // not knot's zone: REFUSED
            assertInstanceOf(ServerFailureException.class, t);
            assertEquals(5, ((ServerFailureException) t).rcode());
            assertTrue(t.getMessage().contains("REFUSED") && t.getMessage().contains(Names.format(knot.v4())), t.getMessage());
        }
    }

    @Test
    void deadFirstServer_failsOverToTheNext_andTheNextIsAskedFirstAfterwards() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             PortsResolver r = resolver().servers((InetSocketAddress) silent.getLocalSocketAddress(), knot.v6())
                     .timeout(Duration.ofMillis(200)).attempts(1).familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            assertEquals(3, await(r.resolve("multi.cluster.test")).size());
            assertEquals(1, r.statistics().timeouts());
            assertEquals(List.of("10.0.1.1"), ips(await(r.resolve("v4only.cluster.test"))));
            assertEquals(1, r.statistics().timeouts(), "the server that answered is asked first");
            assertEquals(3, r.statistics().queries());
        }
    }

    @Test
    void forgedAnswers_withAnotherIdQuestionOrSource_areDropped() throws Exception {
        try (UdpForwarder fwd = new UdpForwarder(knot.v4());
             PortsResolver r = resolver().servers(fwd.address()).familyPreference(FamilyPreference.IPV4_ONLY).build()) {
            fwd.spoof(true);
            List<String> got = ips(await(r.resolve("v4only.cluster.test")));
            assertEquals(List.of("10.0.1.1"), got);
            assertFalse(got.contains("6.6.6.6"));
            assertEquals(1, r.statistics().queries(), "the real answer was taken without a retry");
            assertEquals(1, fwd.forwarded());
        }
    }

    @Test
    void closedResolver_failsLookups_andFailsQuestionsInFlight() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            PortsResolver r = resolver().servers((InetSocketAddress) silent.getLocalSocketAddress())
                    .timeout(Duration.ofSeconds(30)).attempts(1).build();
            var inFlight = r.resolve("multi.cluster.test");
            r.close();
            Throwable t = failure(inFlight);
            assertTrue(t.getMessage().contains("closed"), t.getMessage());
            assertTrue(failure(r.resolve("v4only.cluster.test")).getMessage().contains("closed"));
            r.close(); // idempotent
        }
    }

    @Test
    void build_withoutEventLoops_orWithBadSettings_saysWhatIsWrong() {
        IllegalStateException noLoops = assertThrows(IllegalStateException.class, () -> PortsResolver.builder().build());
        assertTrue(noLoops.getMessage().contains("eventLoops"));
        assertThrows(IllegalArgumentException.class, () -> PortsResolver.builder().attempts(0));
        assertThrows(IllegalArgumentException.class, () -> PortsResolver.builder().ednsPayloadSize(100));
        assertThrows(IllegalArgumentException.class, () -> PortsResolver.builder().servers(InetSocketAddress.createUnresolved("dns", 53)));
        assertThrows(IllegalArgumentException.class, () -> PortsResolver.builder().search(List.of("bad..domain")));
        assertThrows(IllegalStateException.class, () -> resolver().minTtl(Duration.ofSeconds(10)).maxTtl(Duration.ofSeconds(5)).build());
    }

    @Test
    void resolvConf_suppliesServersSearchAndOptions(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("resolv.conf");
        Files.writeString(conf, "nameserver 127.0.0.1\nnameserver ::1\nsearch cluster.test\noptions ndots:2 timeout:3 attempts:4\n");
        try (PortsResolver r = PortsResolver.builder().eventLoops(loops).resolvConf(conf).hostsFile(null).build()) {
            assertEquals(List.of(new InetSocketAddress("127.0.0.1", 53), new InetSocketAddress("::1", 53)), r.servers());
            assertEquals(List.of("cluster.test"), r.search());
            assertEquals(2, r.ndots());
            assertEquals(Duration.ofSeconds(3), r.timeout());
            assertEquals(4, r.attempts());
        }
        try (PortsResolver r = PortsResolver.builder().eventLoops(loops).resolvConf(conf).hostsFile(null)
                .servers(knot.v4()).ndots(1).timeout(Duration.ofMillis(500)).attempts(1).build()) {
            assertEquals(List.of(knot.v4()), r.servers(), "explicit settings win over the file");
            assertEquals(List.of("10.0.1.1"), ips(await(r.resolve("v4only")))); // through the file's search list
        }
        try (PortsResolver r = PortsResolver.builder().eventLoops(loops).resolvConf(dir.resolve("absent")).hostsFile(null).build()) {
            assertEquals(List.of(new InetSocketAddress("127.0.0.1", 53)), r.servers());
            assertEquals(Duration.ofSeconds(2), r.timeout());
            assertEquals(2, r.attempts());
            assertEquals(1, r.ndots());
        }
    }
}
