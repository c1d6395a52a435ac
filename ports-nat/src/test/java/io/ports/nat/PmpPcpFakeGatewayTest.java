package io.ports.nat;

import io.ports.core.PortLease;
import io.ports.core.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NAT-PMP and PCP against an in-process fake gateway, for what miniupnpd will not do on demand: every
 * result code, a NAT-PMP-only server, an epoch that goes back, lost datagrams; and renewal timing with
 * a hand-driven clock.
 */
class PmpPcpFakeGatewayTest extends NatTestSupport {
    FakePmpGateway gw;
    ManualScheduler clock;

    @BeforeEach
    void startGateway() throws Exception {
        gw = new FakePmpGateway();
        clock = new ManualScheduler();
    }

    @AfterEach
    void stopGateway() {
        gw.close();
    }

    NatTraversal.Builder nat(MappingProtocol first, MappingProtocol... more) {
        return NatTraversal.builder(loops).gateway(gw.address()).pmpPort(gw.port()).protocols(first, more)
                .retransmission(Duration.ofMillis(100), 4).probeTimeout(Duration.ofSeconds(2)).ssdpMulticast(false)
                .ticker(clock).scheduler(clock).random(() -> 0.5).lifetime(Duration.ofSeconds(60));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void natPmp_everyResultCode_isARefusalNamingItAndWhatToDo(int code) throws Exception {
        gw.pmpResult = code;
        try (NatTraversal nat = nat(MappingProtocol.NAT_PMP).build(); PortLease lease = lease("pmp-code", Protocol.TCP)) {
            MappingRefusedException e = assertInstanceOf(MappingRefusedException.class, failure(nat.map(lease)));
            assertEquals(code, e.resultCode());
            assertEquals(MappingProtocol.NAT_PMP, e.protocol());
            assertEquals(ResultCodes.natPmpName(code), e.resultName());
            assertTrue(e.getMessage().contains("NAT-PMP map TCP " + lease.port()), e.getMessage());
            assertTrue(e.getMessage().contains(ResultCodes.natPmpName(code) + " (" + code + ")"), e.getMessage());
            assertTrue(e.getMessage().contains(ResultCodes.natPmpAdvice(code)), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
    void pcp_everyResultCode_isARefusalNamingItAndWhatToDo(int code) throws Exception {
        try (NatTraversal nat = nat(MappingProtocol.PCP).build(); PortLease lease = lease("pcp-code", Protocol.UDP)) {
            await(nat.probe()); // ANNOUNCE succeeds, then MAP fails
            gw.pcpResult = code;
            MappingRefusedException e = assertInstanceOf(MappingRefusedException.class, failure(nat.map(lease)));
            assertEquals(code, e.resultCode());
            assertEquals(ResultCodes.pcpName(code), e.resultName());
            assertTrue(e.getMessage().contains("PCP MAP UDP " + lease.port()), e.getMessage());
            assertTrue(e.getMessage().contains(ResultCodes.pcpAdvice(code)), e.getMessage());
            if (code == 12) {
                assertTrue(e.getMessage().contains("double NAT"), e.getMessage());
            }
        }
    }

    @Test
    void pcp_unsuppVersionFromANatPmpOnlyServer_fallsBackToNatPmp() throws Exception {
        gw.pcp = false;
        try (NatTraversal nat = nat(MappingProtocol.PCP).build(); PortLease lease = lease("fallback", Protocol.TCP)) {
            ProbeReport report = await(nat.probe());
            assertEquals(List.of(MappingProtocol.NAT_PMP), report.available());
            assertTrue(report.findings().get(MappingProtocol.PCP).contains("speaks NAT-PMP"), report.findings().toString());
            PortMapping m = await(nat.map(lease));
            assertEquals(MappingProtocol.NAT_PMP, m.protocol());
            assertEquals(InetAddress.getByAddress(FakePmpGateway.EXTERNAL), m.external(Protocol.TCP).getAddress());
        }
    }

    @Test
    void pcp_renewsBetweenHalfAndFiveEighths_reusingTheNonce_andDeletesWithIt() throws Exception {
        try (NatTraversal nat = nat(MappingProtocol.PCP).build(); PortLease lease = lease("pcp-renew", Protocol.TCP)) {
            PortMapping m = await(nat.map(lease));
            assertEquals(MappingProtocol.PCP, m.protocol());
            assertEquals(lease.port(), m.external(Protocol.TCP).getPort());
            // random 0.5 puts the renewal at 1/2 + 0.5 * 1/8 = 9/16 of 60 s
            assertEquals(List.of(Duration.ofMillis(33_750)), clock.pendingDelays());
            String first = gw.requests("PCP MAP").get(0);
            assertTrue(first.contains("client=00000000000000000000ffff7f000001"), "IPv4-mapped client address: " + first);
            String nonce = first.substring(first.indexOf("nonce=") + 6, first.indexOf(" client"));
            gw.epoch += 34; // the gateway's clock runs along with ours
            clock.advance(Duration.ofMillis(33_750));
            eventually(() -> m.renewals() == 1, "PCP renewal");
            assertTrue(gw.requests("PCP MAP").get(1).contains("nonce=" + nonce), gw.requests.toString());
            m.close();
            String delete = gw.requests("PCP MAP").get(2);
            assertTrue(delete.contains("lifetime=0") && delete.contains("nonce=" + nonce), delete);
            assertTrue(gw.mappings.isEmpty(), gw.mappings.toString());
        }
    }

    @Test
    void natPmp_renewsAtHalfTheLifetime_andAnEpochGoingBackRecreatesEveryMapping() throws Exception {
        try (NatTraversal nat = nat(MappingProtocol.NAT_PMP).build();
             PortLease a = lease("epoch-a", Protocol.TCP); PortLease b = lease("epoch-b", Protocol.UDP)) {
            PortMapping ma = await(nat.map(a));
            assertEquals(List.of(Duration.ofSeconds(30)), clock.pendingDelays(), "renewal at half of 60 s");
            clock.advance(Duration.ofSeconds(10));
            gw.epoch += 10;
            PortMapping mb = await(nat.map(b)); // its renewal is due at 40 s

            gw.restart(); // epoch 0, mappings forgotten
            clock.advance(Duration.ofSeconds(20)); // a's renewal at 30 s sees the epoch fall behind
            eventually(() -> ma.recreations() == 1 && mb.recreations() == 1, "both re-created after the epoch went back");
            assertEquals(2, gw.mappings.size(), "both mappings exist again: " + gw.mappings);
            assertEquals(0, mb.renewals(), "b was re-created at once, not at its own renewal time (40 s)");
            assertEquals(List.of(Duration.ofSeconds(30), Duration.ofSeconds(30)), clock.pendingDelays(),
                    "both renew again half a lifetime after their re-creation");
        }
    }

    @Test
    void map_aPortWithoutALease_mapsRenewsAndDeletes_andBadArgumentsFailTheStage() throws Exception {
        try (NatTraversal nat = nat(MappingProtocol.NAT_PMP).build(); PortLease holder = lease("bound-directly", Protocol.TCP)) {
            int port = holder.port(); // stands for a socket bound directly, as a listener on 443 would be
            PortMapping m = await(nat.map("tunnel", port, java.util.EnumSet.of(Protocol.TCP), Duration.ofSeconds(60)));
            assertEquals(port, m.internalPort());
            assertEquals("tunnel", m.service());
            assertEquals(port, m.external(Protocol.TCP).getPort());
            assertEquals(List.of(Duration.ofSeconds(30)), clock.pendingDelays(), "renewed like a lease's mapping");
            await(m.closeAsync());
            assertTrue(gw.requests.stream().anyMatch(r -> r.startsWith("NAT-PMP MAP op=2 internal=" + port + " ") && r.endsWith(" lifetime=0")),
                    "deleted on the gateway: " + gw.requests);
            for (var bad : List.of(nat.map("x", 0, java.util.EnumSet.of(Protocol.TCP), Duration.ofSeconds(60)),
                    nat.map("x", port, java.util.EnumSet.noneOf(Protocol.class), Duration.ofSeconds(60)))) {
                java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> bad.toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof IllegalArgumentException, String.valueOf(e.getCause()));
            }
        }
    }

    @Test
    void natPmp_lostRequests_areRetransmitted() throws Exception {
        gw.drop = 2;
        try (NatTraversal nat = nat(MappingProtocol.NAT_PMP).build(); PortLease lease = lease("lossy", Protocol.TCP)) {
            PortMapping m = await(nat.map(lease));
            assertEquals(lease.port(), m.external(Protocol.TCP).getPort());
            assertEquals(2, gw.udp.requests() - gw.requests.size(), "two requests lost, then answered: " + gw.requests);
            assertEquals("NAT-PMP address", gw.requests.get(0), "the lost request was sent again");
        }
    }

    @Test
    void grantedLifetime_isWhatRenewalUses_notTheRequestedOne() throws Exception {
        gw.grantedLifetime = 20;
        try (NatTraversal nat = nat(MappingProtocol.NAT_PMP).build(); PortLease lease = lease("granted", Protocol.TCP)) {
            PortMapping m = await(nat.map(lease));
            assertEquals(Duration.ofSeconds(20), m.ports().get(0).lifetime());
            assertEquals(List.of(Duration.ofSeconds(10)), clock.pendingDelays());
        }
    }

    @Test
    void renewalFailures_retryHalfwayThroughWhatIsLeft_andReportTheError() throws Exception {
        try (NatTraversal nat = nat(MappingProtocol.NAT_PMP).build(); PortLease lease = lease("failing", Protocol.TCP)) {
            PortMapping m = await(nat.map(lease));
            gw.pmpResult = 3; // NETWORK_FAILURE from now on
            gw.epoch += 30;
            clock.advance(Duration.ofSeconds(30));
            eventually(() -> m.lastError().isPresent(), "the renewal failure");
            assertTrue(m.lastError().get().getMessage().contains("NETWORK_FAILURE"), m.lastError().get().getMessage());
            eventually(() -> clock.pendingDelays().size() == 1, "a retry scheduled");
            assertEquals(List.of(Duration.ofSeconds(15)), clock.pendingDelays(), "retry at 3/4 of the lifetime");
            gw.pmpResult = 0;
            gw.epoch += 15;
            clock.advance(Duration.ofSeconds(15));
            eventually(() -> m.renewals() == 1 && m.lastError().isEmpty(), "the retry succeeding");
            assertNotEquals(0, gw.mappings.size());
        }
    }

    @Test
    void answersFromAnotherAddress_areIgnored() throws Exception {
        // the kernel drops them on the connected socket; the client checks the source as well
        try (java.net.DatagramSocket spoofer = new java.net.DatagramSocket(0, InetAddress.getByName("127.0.0.2"));
             NatTraversal nat = nat(MappingProtocol.NAT_PMP).build()) {
            gw.spoofFrom = spoofer;
            assertEquals(InetAddress.getByAddress(FakePmpGateway.EXTERNAL), await(nat.externalAddress()));
        }
    }
}
