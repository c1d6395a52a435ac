package io.ports.core;

/**
 * No port of a range could be given out. The message and the accessors say which range, how many
 * ports were probed, and why each candidate was refused, so that an operator knows whether to
 * widen the range, release leases, or look for a foreign program holding ports.
 */
public final class PortExhaustedException extends PortsException {
    private static final long serialVersionUID = 1L;

    private final String service;
    private final PortRange range;
    private final int probes;
    private final int reservedHere;
    private final int reservedElsewhere;
    private final int boundByOthers;
    private final int excluded;

    public PortExhaustedException(String service, PortRange range, int probes, int reservedHere,
                                  int reservedElsewhere, int boundByOthers, int excluded) {
        super(message(service, range, probes, reservedHere, reservedElsewhere, boundByOthers, excluded));
        this.service = service;
        this.range = range;
        this.probes = probes;
        this.reservedHere = reservedHere;
        this.reservedElsewhere = reservedElsewhere;
        this.boundByOthers = boundByOthers;
        this.excluded = excluded;
    }

    /** For callers that ask for several ports at once and get fewer than they need. */
    public PortExhaustedException(String message, String service, PortRange range) {
        super(message);
        this.service = service;
        this.range = range;
        this.probes = 0;
        this.reservedHere = 0;
        this.reservedElsewhere = 0;
        this.boundByOthers = 0;
        this.excluded = 0;
    }

    private static String message(String service, PortRange range, int probes, int reservedHere,
                                  int reservedElsewhere, int boundByOthers, int excluded) {
        return "no free port for service '" + service + "' in range " + range + " (" + range.size()
                + " ports) after " + probes + " probes: " + reservedHere + " reserved by this process, "
                + reservedElsewhere + " reserved by other ports processes on this host, "
                + boundByOthers + " bound by other programs, " + excluded + " excluded or never-allocate. "
                + "Widen the range, release leases you no longer need, or find the holders with "
                + "'ports scan " + range + "'";
    }

    public String service() {
        return service;
    }

    public PortRange range() {
        return range;
    }

    public int probes() {
        return probes;
    }

    public int reservedHere() {
        return reservedHere;
    }

    public int reservedElsewhere() {
        return reservedElsewhere;
    }

    public int boundByOthers() {
        return boundByOthers;
    }

    public int excluded() {
        return excluded;
    }
}
