package io.ports.resolver;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** resolv.conf, hosts file, name checks and search candidates, without a server. */
class ConfigParsingTest {

    @Test
    void resolvConf_serversSearchAndCappedOptions() throws Exception {
        ResolvConf c = ResolvConf.parse(List.of(
                "# comment", "; comment", "nameserver 10.0.0.53", "nameserver fd00::53", "nameserver not-an-ip",
                "domain first.example", "search a.example b.example", "options ndots:20 timeout:99 attempts:0 rotate",
                "options attempts:3"));
        assertEquals(List.of(new InetSocketAddress(InetAddress.getByName("10.0.0.53"), 53),
                new InetSocketAddress(InetAddress.getByName("fd00::53"), 53)), c.servers());
        assertEquals(List.of("a.example", "b.example"), c.search(), "the last of search/domain wins");
        assertEquals(15, c.ndots());
        assertEquals(Duration.ofSeconds(30), c.timeout());
        assertEquals(3, c.attempts());
        ResolvConf empty = ResolvConf.parse(List.of());
        assertTrue(empty.servers().isEmpty());
        assertNull(empty.search());
        assertEquals(-1, empty.ndots());
        assertEquals(ResolvConf.EMPTY, ResolvConf.read(null));
    }

    @Test
    void hostsFile_namesAndAliases_caseInsensitive_commentsAndJunkIgnored() {
        HostsFile h = HostsFile.parse(List.of("127.0.0.1 localhost", "10.0.0.1 DB1 db1.alias # c", "fd00::1 db1",
                "nonsense", "10.0.0.300 bad", "# 10.0.0.2 hidden"));
        assertEquals(2, h.get("db1").size());
        assertEquals("db1", h.get("DB1").get(0).getHostName());
        assertEquals(1, h.get("db1.alias").size());
        assertNull(h.get("hidden"));
        assertNull(h.get("bad"));
    }

    @Test
    void names_problemsAreNamed() {
        assertNull(Names.problem("db1.cluster.example"));
        assertNull(Names.problem("_db._tcp.cluster.example."));
        assertNull(Names.problem("a".repeat(63) + ".x"));
        assertTrue(Names.problem("").contains("empty"));
        assertTrue(Names.problem(".").contains("root"));
        assertTrue(Names.problem("a..b").contains("empty label at index 2"));
        assertTrue(Names.problem("a".repeat(64)).contains("64 characters"));
        assertTrue(Names.problem("x.".repeat(127) + "x").contains("255 characters long (at most 253)"));
        assertNull(Names.problem("x.".repeat(127)), "253 characters and the root dot");
        assertTrue(Names.problem("a b").contains("' '"));
        assertTrue(Names.problem("bücher.example").contains("IDN.toASCII"));
    }

    @Test
    void candidates_followNdots() {
        List<Name> search = List.of(Names.absolute("a.example"), Names.absolute("b.example"));
        assertEquals(List.of("db1.a.example.", "db1.b.example.", "db1."), show(Names.candidates("db1", search, 1)));
        assertEquals(List.of("db1.x.", "db1.x.a.example.", "db1.x.b.example."), show(Names.candidates("db1.x", search, 1)));
        assertEquals(List.of("db1.x.a.example.", "db1.x.b.example.", "db1.x."), show(Names.candidates("db1.x", search, 2)));
        assertEquals(List.of("db1.x."), show(Names.candidates("db1.x.", search, 5)), "absolute: as is only");
        assertEquals(List.of("db1."), show(Names.candidates("db1", List.of(), 1)));
    }

    private static List<String> show(List<Name> names) {
        return names.stream().map(Name::toString).collect(Collectors.toList());
    }

    @Test
    void familyOrder_interleavesStartingWithV6() throws Exception {
        List<InetAddress> v4 = List.of(InetAddress.getByName("10.0.0.1"), InetAddress.getByName("10.0.0.2"), InetAddress.getByName("10.0.0.3"));
        List<InetAddress> v6 = List.of(InetAddress.getByName("fd00::1"));
        assertEquals(List.of(v6.get(0), v4.get(0), v4.get(1), v4.get(2)), Lookups.order(v4, v6, FamilyPreference.INTERLEAVED));
        assertEquals(List.of(v4.get(0), v4.get(1), v4.get(2), v6.get(0)), Lookups.order(v4, v6, FamilyPreference.IPV4_FIRST));
    }
}
