package io.ports.core.testsupport;

import io.ports.core.AllocationStrategy;
import io.ports.core.PortAllocator;
import io.ports.core.PortLease;
import io.ports.core.PortRange;
import io.ports.core.PortRequest;
import io.ports.core.ServiceType;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Child JVM for the cross-process tests: {@code LOCK_DIR RANGE COUNT STRATEGY [local]}; {@code local}
 * turns host-wide claims off (the control that shows what the lock file prevents). Prints {@code READY},
 * waits for a {@code go} line (the barrier), allocates COUNT ports one by one, prints
 * {@code PORTS p1,p2,...}, then holds them until stdin closes or says {@code exit}.
 */
public final class ReserveMain {
    private ReserveMain() {
    }

    public static void main(String[] args) throws Exception {
        Path lockDir = Path.of(args[0]);
        PortRange range = PortRange.parse(args[1]);
        int count = Integer.parseInt(args[2]);
        AllocationStrategy strategy = AllocationStrategy.parse(args[3]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        try (PortAllocator allocator = PortAllocator.builder().lockDirectory(lockDir).strategy(strategy)
                .hostWide(!(args.length > 4 && args[4].equals("local"))).build()) {
            ServiceType type = ServiceType.tcp("xproc", 0, range, "cross-process test");
            // warm the path so that all children race in the allocation itself, not in class loading
            allocator.allocate(PortRequest.of("warm-up", type)).close();
            System.out.println("READY");
            System.out.flush();
            String go = in.readLine();
            if (!"go".equals(go)) {
                return;
            }
            List<PortLease> leases = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                leases.add(allocator.allocate(PortRequest.of("svc-" + ProcessHandle.current().pid() + "-" + i, type)));
            }
            System.out.println("PORTS " + leases.stream().map(l -> Integer.toString(l.port())).collect(Collectors.joining(",")));
            System.out.flush();
            String line;
            while ((line = in.readLine()) != null && !line.equals("exit")) {
                // hold
            }
        }
    }
}
