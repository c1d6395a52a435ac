package io.ports.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.netty.util.Version;
import io.ports.etcd.testsupport.EtcdCluster;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jetcd's gRPC (grpc-netty under Vert.x) runs on the project's one Netty: every Netty artifact on the
 * class path has one version, and a real etcd round trip works with it.
 */
class OneNettyTest {

    @Test
    void everyNettyArtifactHasOneVersion_andJetcdTalksToEtcdOnIt() throws Exception {
        Map<String, Version> versions = Version.identify();
        Set<String> distinct = new TreeSet<>();
        versions.values().forEach(v -> distinct.add(v.artifactVersion()));
        assertEquals(1, distinct.size(), "more than one Netty version on the class path: " + versions);
        assertTrue(distinct.iterator().next().startsWith("4.2."), "Netty is not 4.2: " + distinct);
        assertTrue(versions.containsKey("netty-codec-http2"), "grpc-netty's HTTP/2 codec is not on the class path: " + versions.keySet());

        try (EtcdCluster etcd = EtcdCluster.start(1);
             Client client = Client.builder().endpoints(etcd.endpoints().split(",")).build()) {
            ByteSequence k = ByteSequence.from("one-netty", StandardCharsets.UTF_8);
            client.getKVClient().put(k, ByteSequence.from("4.2", StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
            String back = client.getKVClient().get(k).get(10, TimeUnit.SECONDS).getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
            assertEquals("4.2", back);
            // the channel classes jetcd used come from the same Netty jar version
            Class<?> http2 = Class.forName("io.netty.handler.codec.http2.Http2FrameCodec");
            String jar = String.valueOf(http2.getProtectionDomain().getCodeSource().getLocation());
            assertTrue(jar.contains(distinct.iterator().next()), "HTTP/2 codec loaded from " + jar);
        }
    }
}
