package io.ports.core;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServiceCatalogTest {

    @Test
    void defaults_shipTheNodeTypesAndCategoryRanges() {
        ServiceCatalog c = ServiceCatalog.defaults();
        assertEquals(5432, c.require("DATABASE").defaultPort());
        assertEquals(5433, c.require("CLUSTER").defaultPort());
        assertEquals(5434, c.require("REPLICATION").defaultPort());
        assertEquals(8080, c.require("ADMIN").defaultPort());
        assertEquals(8081, c.require("API").defaultPort());
        assertFalse(c.require("CUSTOM").hasDefaultPort());
        assertEquals(PortRange.of(8080, 8099), c.require("rest-api").range());
        assertEquals(PortRange.of(50050, 50099), c.require("grpc").range());
        assertEquals(PortRange.of(8100, 8199), c.require("websocket").range());
        assertEquals(PortRange.of(5400, 5499), c.require("database").range());
        assertEquals(PortRange.of(6300, 6399), c.require("cache").range());
        assertEquals(PortRange.of(8200, 8299), c.require("analytics").range());
        assertEquals(PortRange.of(8300, 8399), c.require("security").range());
        assertEquals(PortRange.of(3000, 3099), c.require("frontend").range());
        assertEquals(PortRange.of(40000, 49999), c.require("dynamic").range());
        assertEquals(Set.of(Protocol.TCP), c.require("DATABASE").protocols());
    }

    @Test
    void with_addsAndOverridesWithoutChangingTheOriginal() {
        ServiceCatalog base = ServiceCatalog.defaults();
        ServiceCatalog c = base
                .with(ServiceType.tcp("raft", 7000, PortRange.of(7000, 7099), "raft peers"))
                .with(ServiceType.DATABASE.withRange(PortRange.of(15432, 15499)));
        assertEquals(7000, c.require("raft").defaultPort());
        assertEquals(PortRange.of(15432, 15499), c.require("DATABASE").range());
        assertEquals(PortRange.of(5400, 5499), base.require("DATABASE").range());
        assertTrue(base.find("raft").isEmpty());
        assertSame(ServiceType.DATABASE, base.require("DATABASE"));
        assertTrue(c.without("raft").find("raft").isEmpty());
    }

    @Test
    void require_unknownType_listsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServiceCatalog.defaults().require("postgres"));
        assertTrue(e.getMessage().contains("'postgres'"), e.getMessage());
        assertTrue(e.getMessage().contains("DATABASE") && e.getMessage().contains("rest-api"), e.getMessage());
    }

    @Test
    void serviceType_invalidValues_areRejectedWithTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServiceType.tcp("bad name!", 0, PortRange.of(1024, 2000), ""));
        assertTrue(e.getMessage().contains("'bad name!'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ServiceType.tcp("x", 70000, PortRange.of(1024, 2000), ""));
        assertTrue(e.getMessage().contains("70000"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ServiceType.DATABASE.withProtocols(Set.of()));
    }

    @Test
    void enumsParse_caseInsensitiveAndNameTheBadInput() {
        assertEquals(AllocationStrategy.HASH, AllocationStrategy.parse("hash"));
        assertEquals(Protocol.UDP, Protocol.parse(" udp "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AllocationStrategy.parse("roundrobin"));
        assertTrue(e.getMessage().contains("'roundrobin'") && e.getMessage().contains("sequential, random, hash"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Protocol.parse("sctp"));
    }
}
