package io.ports.nat;

/**
 * The NAT-PMP/PCP epoch check: every response carries the gateway's seconds since its mapping state
 * began. If that clock runs slower than ours, or backwards, the gateway restarted and forgot our
 * mappings. NAT-PMP (RFC 6886 section 3.6): lost when the new value is below the previous one plus
 * 7/8 of our elapsed time minus 2 s. PCP (RFC 6887 section 8.5): lost when it went back more than 1 s,
 * or when the two clocks' deltas differ by more than 2 s plus 1/16.
 */
final class EpochTracker {
    private final boolean pcpRule;
    private long previousEpoch = -1;
    private long previousNanos;

    EpochTracker(boolean pcpRule) {
        this.pcpRule = pcpRule;
    }

    /** Records a response; true when it shows the gateway lost its state since the previous one. */
    synchronized boolean update(long epochSeconds, long nowNanos) {
        boolean lost = false;
        if (previousEpoch >= 0) {
            double client = (nowNanos - previousNanos) / 1e9;
            if (pcpRule) {
                double server = epochSeconds - previousEpoch;
                lost = epochSeconds + 1 < previousEpoch
                        || client + 2 < server - server / 16
                        || server + 2 < client - client / 16;
            } else {
                lost = epochSeconds < previousEpoch + client * 7 / 8 - 2;
            }
        }
        previousEpoch = epochSeconds;
        previousNanos = nowNanos;
        return lost;
    }

    synchronized long previousEpoch() {
        return previousEpoch;
    }
}
