package io.ports.server.testsupport;

import io.ports.core.BindProbe;
import io.ports.core.PortRange;

import java.util.concurrent.ThreadLocalRandom;

/** Port ranges for the ports-server tests that probe free right now, so no test touches ports other programs of this host use. */
public final class TestPorts {
    private TestPorts() {
    }

    /**
     * Consecutive ranges of the given sizes, 5 ports apart, every port of them (and of the gaps) probing free now, within
     * 20000-29999: below the usual ephemeral range, so outgoing connections rarely land there. At most 200 attempts.
     */
    public static PortRange[] freeRanges(int... sizes) {
        BindProbe probe = BindProbe.wildcard();
        int total = 0;
        for (int s : sizes) {
            total += s + 5;
        }
        for (int attempt = 0; attempt < 200; attempt++) {
            int start = 20000 + ThreadLocalRandom.current().nextInt(10000 - total);
            boolean allFree = true;
            for (int p = start; p < start + total && allFree; p++) {
                allFree = probe.isFree(p);
            }
            if (allFree) {
                PortRange[] out = new PortRange[sizes.length];
                int at = start;
                for (int i = 0; i < sizes.length; i++) {
                    out[i] = PortRange.of(at, at + sizes[i] - 1);
                    at += sizes[i] + 5;
                }
                return out;
            }
        }
        throw new IllegalStateException("no " + total + " consecutive free ports in 20000-29999 after 200 attempts");
    }
}
