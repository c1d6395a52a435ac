package io.ports.manager;

import io.ports.core.AllocationStrategy;
import io.ports.core.PortRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortConfigTest {
    @TempDir
    Path dir;

    @Test
    void defaults_followTheSeedDesign() {
        PortConfig c = PortConfig.defaults();
        assertEquals(5432, c.basePort());
        assertEquals(PortRange.of(6000, 7000), c.dynamicRange());
        assertTrue(c.ipv6() && c.unixSockets() && c.firewallFriendly() && c.reusePort() && c.reuseAddress());
        assertFalse(c.natTraversal());
        assertEquals(List.of("0.0.0.0:5432"), c.bindAddresses());
        assertEquals(Duration.ofSeconds(60), c.healthCheckInterval());
        assertEquals(List.of("database", "cluster", "replication", "admin", "api"), List.copyOf(c.services().keySet()));
        assertEquals(5432, c.services().get("database").port());
    }

    @Test
    void propertiesAndYaml_giveTheSameConfiguration() throws Exception {
        Path props = Files.writeString(dir.resolve("ports.properties"), String.join("\n",
                "base-port=15432", "dynamic-range=16000-16999", "strategy=random", "registry.store=memory",
                "resolver.servers=127.0.0.1:5353, ::1", "health-check-interval=5s",
                "services.db.type=DATABASE", "services.db.port=15432", "services.raft.type=CLUSTER", "services.raft.required=false"));
        Path yaml = Files.writeString(dir.resolve("ports.yaml"), String.join("\n",
                "base-port: 15432", "dynamic-range: 16000-16999", "strategy: random", "registry:", "  store: memory",
                "resolver:", "  servers: [\"127.0.0.1:5353\", \"::1\"]", "health-check-interval: 5s",
                "services:", "  db:", "    type: DATABASE", "    port: 15432", "  raft:", "    type: CLUSTER", "    required: false"));
        PortConfig a = PortConfig.load(props, Map.of());
        PortConfig b = PortConfig.load(yaml, Map.of());
        assertEquals(a, b);
        assertEquals(AllocationStrategy.RANDOM, a.strategy());
        assertEquals(List.of("127.0.0.1:5353", "::1"), a.resolverServers());
        assertEquals(List.of("db", "raft"), List.copyOf(a.services().keySet()));
    }

    @Test
    void environment_overridesTheFile_andPortSetsTheMainService() throws Exception {
        Path props = Files.writeString(dir.resolve("p.properties"), "base-port=15432\nservices.db.type=DATABASE\nservices.db.port=15432\n");
        PortConfig c = PortConfig.load(props, Map.of("PORTS_BASE_PORT", "25432", "PORTS_NAT_TRAVERSAL", "true", "PORT", "26000",
                "PORTS_JAVA_OPTS", "-Xmx1g", "HOME", "/root"));
        assertEquals(25432, c.basePort());
        assertTrue(c.natTraversal());
        assertEquals(26000, c.services().get("db").port());
    }

    @Test
    void unknownKeysAndBadValues_areAllReportedWithKeyValueAndValidForm() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortConfig.fromMap(Map.of(
                "base-prot", "5432", "dynamic-range", "7000-6000", "ipv6", "maybe", "health-check-interval", "soon",
                "services.db.port", "99999"), Map.of("PORTS_NAT", "on")));
        String m = e.getMessage();
        assertTrue(m.contains("unknown key 'base-prot' (did you mean 'base-port'?)"), m);
        assertTrue(m.contains("bad value for dynamic-range: '7000-6000' (expected START-END within 1-65535)"), m);
        assertTrue(m.contains("bad value for ipv6: 'maybe' (expected true or false)"), m);
        assertTrue(m.contains("bad value for health-check-interval: 'soon'"), m);
        assertTrue(m.contains("bad service db") && m.contains("99999"), m);
        assertTrue(m.contains("unknown environment variable PORTS_NAT=on"), m);
        assertTrue(m.contains("Valid keys:"), m);
    }

    @Test
    void etcdStore_withoutPortsEtcdOnTheClassPath_saysWhatToAdd() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PortConfig.fromMap(Map.of("registry.store", "etcd://127.0.0.1:2379,127.0.0.1:2380"), Map.of()));
        assertTrue(e.getMessage().contains("bad value for registry.store") && e.getMessage().contains("ports-etcd"), e.getMessage());
    }

    @Test
    void badPortVariable_namesTheMainService() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortConfig.fromMap(Map.of(), Map.of("PORT", "http")));
        assertTrue(e.getMessage().contains("PORT: 'http'") && e.getMessage().contains("'database'"), e.getMessage());
    }

    @Test
    void badFiles_areRejectedClearly() throws Exception {
        Path txt = Files.writeString(dir.resolve("ports.txt"), "x");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PortConfig.load(txt, Map.of())).getMessage().contains(".properties, .yaml or .yml"));
        Path yaml = Files.writeString(dir.resolve("bad.yaml"), "base-port: [unclosed");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PortConfig.load(yaml, Map.of())).getMessage().contains("not valid YAML"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PortConfig.load(dir.resolve("missing.yaml"), Map.of())).getMessage().contains("cannot read"));
        Path badBind = Files.writeString(dir.resolve("b.properties"), "bind-addresses=0.0.0.0:5432,db.example.com:5432\n");
        String m = assertThrows(IllegalArgumentException.class, () -> PortConfig.load(badBind, Map.of())).getMessage();
        assertTrue(m.contains("bad value for bind-addresses"), m);
    }

    @Test
    void reachabilityAndTunnelKeys_defaultsParsingAndErrors() {
        PortConfig d = PortConfig.defaults();
        assertEquals(List.of(443, 80, 8443), d.tunnelPorts());
        assertEquals("/tunnel", d.tunnelPath());
        assertEquals(null, d.reachabilityCheck());
        assertEquals("", d.natGateway());
        assertEquals("", d.services().get("database").host());

        PortConfig c = PortConfig.fromMap(Map.of("reachability.check", "http://10.0.0.9:7070", "reachability.timeout", "1500ms",
                "tunnel.ports", "8443, 9443", "tunnel.path", "/db", "tunnel.token", "s3cret", "nat.gateway", "192.168.1.1",
                "services.admin.type", "ADMIN", "services.admin.host", "127.0.0.1"), Map.of());
        assertEquals(java.net.URI.create("http://10.0.0.9:7070"), c.reachabilityCheck());
        assertEquals(Duration.ofMillis(1500), c.reachabilityTimeout());
        assertEquals(List.of(8443, 9443), c.tunnelPorts());
        assertEquals("127.0.0.1", c.services().get("admin").host());
        assertFalse(c.toString().contains("s3cret"), "the token is not printed: " + c);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortConfig.fromMap(Map.of(
                "reachability.check", "ftp://x", "tunnel.ports", "443,http", "tunnel.path", "tunnel", "nat.gateway", "router.local",
                "reachability.timeout", "0s", "services.db.type", "DATABASE", "services.db.host", "not an address!"), Map.of()));
        String m = e.getMessage();
        assertTrue(m.contains("bad value for reachability.check: 'ftp://x' (expected http://HOST:PORT of a dial-back service"), m);
        assertTrue(m.contains("bad value for tunnel.ports: '443,http' (expected comma-separated ports"), m);
        assertTrue(m.contains("bad value for tunnel.path: 'tunnel' (expected a request path starting with /)"), m);
        assertTrue(m.contains("bad value for nat.gateway: 'router.local' (expected an IP address"), m);
        assertTrue(m.contains("bad value for reachability.timeout: '0s'"), m);
        assertTrue(m.contains("bad service db") && m.contains("not an address!"), m);
    }
}
