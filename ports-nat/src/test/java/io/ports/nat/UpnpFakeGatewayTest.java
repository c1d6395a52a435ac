package io.ports.nat;

import io.ports.core.PortLease;
import io.ports.core.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** UPnP IGD against an in-process fake, for the error codes miniupnpd does not give on demand (725, 402, 718, 606). */
class UpnpFakeGatewayTest extends NatTestSupport {
    FakeIgd igd;
    ManualScheduler clock;

    @BeforeEach
    void startIgd() throws Exception {
        igd = new FakeIgd();
        clock = new ManualScheduler();
    }

    @AfterEach
    void stopIgd() {
        igd.close();
    }

    NatTraversal.Builder nat() {
        return NatTraversal.builder(loops).gateway(InetAddress.getLoopbackAddress()).protocols(MappingProtocol.UPNP)
                .ssdpPort(igd.ssdpPort()).ssdpMulticast(false).probeTimeout(Duration.ofSeconds(2)).httpTimeout(Duration.ofSeconds(2))
                .lifetime(Duration.ofSeconds(3600)).ticker(clock).scheduler(clock);
    }

    @Test
    void map_asksForAFiniteLease_andTheExternalAddress() throws Exception {
        try (NatTraversal nat = nat().build(); PortLease lease = lease("upnp-basic", Protocol.TCP, Protocol.UDP)) {
            PortMapping m = await(nat.map(lease));
            assertEquals(MappingProtocol.UPNP, m.protocol());
            assertEquals(InetAddress.getByName(FakeIgd.EXTERNAL), m.external(Protocol.TCP).getAddress());
            assertEquals(lease.port(), m.external(Protocol.UDP).getPort());
            assertEquals("3600", igd.adds.get(0).get("NewLeaseDuration"));
            assertEquals("127.0.0.1", igd.adds.get(0).get("NewInternalClient"));
            assertEquals(Duration.ofSeconds(3600), m.ports().get(0).lifetime());
            assertEquals(List.of(Duration.ofSeconds(1800), Duration.ofSeconds(1800)), clock.pendingDelays(), "renewal at half the lease");
            m.close();
            assertEquals(2, igd.deletes.size());
            assertTrue(igd.mappings.isEmpty());
        }
    }

    @Test
    void onlyPermanentLeases725_or_invalidArgs402_retriesWithLeaseZero_andStillRenews() throws Exception {
        for (int code : new int[] {725, 402}) {
            igd.adds.clear();
            igd.addErrors.add(code);
            try (NatTraversal nat = nat().build(); PortLease lease = lease("permanent-" + code, Protocol.TCP)) {
                PortMapping m = await(nat.map(lease));
                assertEquals(List.of("3600", "0"), List.of(igd.adds.get(0).get("NewLeaseDuration"), igd.adds.get(1).get("NewLeaseDuration")));
                assertTrue(m.ports().get(0).isPermanent());
                assertEquals(List.of(Duration.ofSeconds(1800)), clock.pendingDelays(), "a permanent lease is re-asserted anyway");
                clock.advance(Duration.ofSeconds(1800));
                eventually(() -> m.renewals() == 1, "re-asserting the permanent mapping");
            }
            clock = new ManualScheduler();
        }
    }

    @Test
    void conflict718_triesAnotherExternalPort() throws Exception {
        igd.addErrors.add(718);
        try (NatTraversal nat = nat().build(); PortLease lease = lease("conflict", Protocol.TCP)) {
            PortMapping m = await(nat.map(lease));
            int external = m.external(Protocol.TCP).getPort();
            assertNotEquals(lease.port(), external);
            assertEquals(Integer.toString(external), igd.adds.get(1).get("NewExternalPort"));
            assertEquals(Integer.toString(lease.port()), igd.adds.get(1).get("NewInternalPort"));
        }
    }

    @Test
    void notAuthorized606_isARefusalWithTheUpnpCode() throws Exception {
        igd.addErrors.add(606);
        try (NatTraversal nat = nat().build(); PortLease lease = lease("refused", Protocol.TCP)) {
            MappingRefusedException e = assertInstanceOf(MappingRefusedException.class, failure(nat.map(lease)));
            assertEquals(606, e.resultCode());
            assertEquals("ActionNotAuthorized", e.resultName());
            assertTrue(e.getMessage().contains("AddPortMapping") && e.getMessage().contains("606"), e.getMessage());
        }
    }

    @Test
    void controlUrlStopsAnswering_rediscoversAndRecreates() throws Exception {
        try (NatTraversal nat = nat().build(); PortLease lease = lease("moved", Protocol.TCP)) {
            PortMapping m = await(nat.map(lease));
            igd.moveHttp(); // the router rebooted: new HTTP port, no mappings
            clock.advance(Duration.ofSeconds(1800));
            eventually(() -> m.recreations() == 1, "re-creation after rediscovery");
            assertEquals(Map.of("TCP:" + lease.port(), Integer.toString(lease.port())), igd.mappings);
            assertTrue(nat.mappings().contains(m));
        }
    }

    @Test
    void descriptionWithADoctype_isRefused_noExternalEntities() throws Exception {
        igd.description = FakeIgd.description("<!DOCTYPE root [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>");
        try (NatTraversal nat = nat().build()) {
            NoPortMapperException e = assertInstanceOf(NoPortMapperException.class, failure(nat.probe()));
            assertTrue(e.getMessage().contains("DOCTYPE"), e.getMessage());
        }
    }

    @Test
    void soapArguments_areXmlEscaped_andTheDescriptionArrives() throws Exception {
        assertEquals("ports a&lt;b&gt;&amp;c&quot;&apos; ", UpnpMapper.escape("ports a<b>&c\"'\u0001"));
        try (NatTraversal nat = nat().build(); PortLease lease = lease("orders-db", Protocol.TCP)) {
            await(nat.map(lease));
            assertTrue(igd.rawBodies.stream().anyMatch(b -> b.contains("<NewPortMappingDescription>ports orders-db</NewPortMappingDescription>")),
                    igd.rawBodies.toString());
        }
    }

    @Test
    void everyRequest_asksForItsOwnConnection() throws Exception {
        // a kept-alive connection from the description's GET would be reused by a SOAP POST, which the
        // JDK cannot retry when the gateway has closed it meanwhile
        try (NatTraversal nat = nat().build(); PortLease lease = lease("orders-db", Protocol.TCP)) {
            await(nat.map(lease));
        }
        assertTrue(igd.connectionHeaders.size() >= 3, "description, external address and mapping: " + igd.connectionHeaders);
        assertEquals(java.util.Collections.nCopies(igd.connectionHeaders.size(), "close"), igd.connectionHeaders);
    }
}
