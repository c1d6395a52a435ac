package io.ports.health;

import io.ports.core.internal.ProcFs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Process facts the reconciler needs: running (not a zombie), command, ancestry. */
final class Processes {
    private static final int MAX_ANCESTRY = 64;

    private Processes() {
    }

    /**
     * Whether the process exists and is not a zombie: a holder killed by a signal stays in the process
     * table until its parent reaps it, but it holds no socket any more.
     */
    static boolean isRunning(long pid) {
        if (pid <= 0 || !ProcFs.isAlive(pid)) {
            return false;
        }
        try {
            // "PID (COMMAND) STATE ...": the command may contain spaces and parentheses, the state follows the last ')'
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            if (close > 0 && close + 2 < stat.length()) {
                char state = stat.charAt(close + 2);
                return state != 'Z' && state != 'X';
            }
        } catch (IOException | SecurityException e) {
            // gone meanwhile, or no /proc: isAlive said it existed a moment ago; trust that unless it is gone now
            return ProcFs.isAlive(pid);
        }
        return true;
    }

    static Optional<ProcessInfo> info(long pid) {
        return pid <= 0 ? Optional.empty() : ProcFs.process(pid).map(p -> new ProcessInfo(p.pid(), p.command()));
    }

    /** Whether {@code pid} is {@code ancestor} or one of its descendants (a holder's worker or a wrapper's child). */
    static boolean isSelfOrDescendant(long pid, long ancestor) {
        if (pid == ancestor) {
            return true;
        }
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        for (int i = 0; i < MAX_ANCESTRY && p.isPresent(); i++) {
            p = p.get().parent();
            if (p.isPresent() && p.get().pid() == ancestor) {
                return true;
            }
        }
        return false;
    }

}
