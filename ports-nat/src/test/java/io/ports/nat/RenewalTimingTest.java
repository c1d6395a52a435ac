package io.ports.nat;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Renewal times and the epoch check, as pure arithmetic on a given clock. */
class RenewalTimingTest {
    static final long S = TimeUnit.SECONDS.toNanos(1);

    @Test
    void firstRenewal_natPmpAndUpnpAtHalf_pcpBetweenHalfAndFiveEighths() {
        assertEquals(3600 * S, RenewalPolicy.firstRenewal(MappingProtocol.NAT_PMP, 7200, 0, () -> 0.9));
        assertEquals(3600 * S, RenewalPolicy.firstRenewal(MappingProtocol.UPNP, 7200, 0, () -> 0.9));
        assertEquals(3600 * S, RenewalPolicy.firstRenewal(MappingProtocol.PCP, 7200, 0, () -> 0.0));
        assertEquals(4500 * S, RenewalPolicy.firstRenewal(MappingProtocol.PCP, 7200, 0, () -> 1.0));
        assertEquals(17 * S, RenewalPolicy.firstRenewal(MappingProtocol.UPNP, 0, 17 * S, () -> 0.5), "permanent: the refresh interval");
    }

    @Test
    void retry_halfOfWhatIsLeft_neverWithinFourSeconds_thenBackoffAfterExpiry() {
        long expires = 100 * S;
        assertEquals(25 * S, RenewalPolicy.retry(50 * S, expires, 100 * S, 0), "3/4");
        assertEquals(12_500_000_000L, RenewalPolicy.retry(75 * S, expires, 100 * S, 0), "7/8");
        assertEquals(4 * S, RenewalPolicy.retry(98 * S, expires, 100 * S, 0), "at least 4 s apart");
        assertEquals(4 * S, RenewalPolicy.retry(101 * S, expires, 100 * S, 0));
        assertEquals(16 * S, RenewalPolicy.retry(120 * S, expires, 100 * S, 2));
        assertEquals(50 * S, RenewalPolicy.retry(500 * S, expires, 100 * S, 10), "capped at half the lifetime");
        assertEquals(600 * S, RenewalPolicy.retry(500 * S, expires, 7200 * S, 30), "and at 10 minutes");
    }

    @Test
    void natPmpEpoch_lostWhenItFallsBehindSevenEighthsOfOurClockMinusTwoSeconds() {
        EpochTracker t = new EpochTracker(false);
        assertFalse(t.update(1000, 0));
        assertFalse(t.update(1060, 60 * S), "kept pace");
        assertFalse(t.update(1060 + 52, 120 * S), "60 s here, 52 s there: not below 7/8 of 60 s - 2 s = 50.5 s");
        assertTrue(t.update(1112 + 50, 180 * S), "60 s here, 50 s there: below 50.5 s, restarted");
        assertTrue(t.update(3, 181 * S), "went back");
    }

    @Test
    void pcpEpoch_lostWhenTheClocksDisagreeByMoreThanTwoSecondsAndASixteenth() {
        EpochTracker t = new EpochTracker(true);
        assertFalse(t.update(500, 0));
        assertFalse(t.update(500 + 64, 64 * S));
        assertFalse(t.update(564 + 65, 128 * S), "1 s apart over 64 s");
        assertTrue(t.update(629 + 50, 192 * S), "server 50 s, client 64 s: 50 + 2 < 64 - 4");
        assertTrue(t.update(10, 193 * S), "back by more than a second");
        assertFalse(t.update(10 + 10, 203 * S), "consistent again after the restart");
    }
}
