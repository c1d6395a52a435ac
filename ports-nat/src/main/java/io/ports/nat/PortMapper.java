package io.ports.nat;

import io.ports.core.Protocol;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/** One port-mapping protocol spoken to one gateway. Implementations are thread-safe. */
interface PortMapper extends AutoCloseable {
    /** What to map: one transport protocol of one lease. */
    record Request(Protocol transport, int internalPort, int suggestedExternalPort, long lifetimeSeconds, byte[] nonce,
                   String description) {
        public Request {
            Objects.requireNonNull(transport, "transport");
            if (internalPort < 1 || internalPort > 65_535) {
                throw new IllegalArgumentException("internal port : " + internalPort + " (expected: 1-65535)");
            }
            if (suggestedExternalPort < 0 || suggestedExternalPort > 65_535) {
                throw new IllegalArgumentException("external port : " + suggestedExternalPort + " (expected: 0-65535)");
            }
            if (lifetimeSeconds < 0 || lifetimeSeconds > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("lifetime : " + lifetimeSeconds + " s (expected: 0-4294967295)");
            }
            if (nonce != null && nonce.length != 12) {
                throw new IllegalArgumentException("PCP nonce must be 96 bits");
            }
        }

        Request withExternalPort(int port) {
            return new Request(transport, internalPort, port, lifetimeSeconds, nonce, description);
        }

        String describe() {
            return transport + " " + internalPort;
        }
    }

    /**
     * What the gateway granted. {@code lifetimeSeconds} 0 means a permanent UPnP lease (renewed
     * anyway); {@code stateLost} is set when this answer showed the gateway lost its mappings (its
     * epoch went back, or UPnP had to be rediscovered).
     */
    record Grant(InetAddress externalAddress, int externalPort, long lifetimeSeconds, boolean stateLost, String note) {
    }

    MappingProtocol protocol();

    /** Whether the gateway speaks this protocol; completes with a one-line finding or fails with why not. */
    CompletableFuture<String> probe(Duration budget);

    /** Creates or renews a mapping. */
    CompletableFuture<Grant> map(Request request);

    /** Deletes a mapping. */
    CompletableFuture<Void> unmap(Request request, Grant granted);

    CompletableFuture<InetAddress> externalAddress();

    /** Called when a response shows the gateway lost its state (restart): every mapping must be re-created. */
    void onStateLost(Runnable listener);

    @Override
    void close();
}
