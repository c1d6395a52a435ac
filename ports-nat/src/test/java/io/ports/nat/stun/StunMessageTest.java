package io.ports.nat.stun;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wire format against the RFC 5769 test vectors and hand-made broken messages. */
class StunMessageTest {
    /** RFC 5769 section 2.2: sample IPv4 response, mapped 192.0.2.1:32853. */
    static final String RFC5769_IPV4 = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
            + "002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
    /** RFC 5769 section 2.3: sample IPv6 response, mapped [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
    static final String RFC5769_IPV6 = "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
            + "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed41"
            + "80280004c8fb0b4c";

    @Test
    void decode_rfc5769Ipv4Response_givesMappedAddress() throws Exception {
        StunMessage m = StunMessage.decode(HexFormat.of().parseHex(RFC5769_IPV4));
        assertTrue(m.isSuccess());
        assertEquals(new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 32853), m.mapped());
        assertEquals("test vector", m.software);
        assertTrue(m.fingerprinted);
        assertArrayEquals(HexFormat.of().parseHex("b7e7a701bc34d686fa87dfae"), m.transactionId);
    }

    @Test
    void decode_rfc5769Ipv6Response_givesMappedAddress() throws Exception {
        StunMessage m = StunMessage.decode(HexFormat.of().parseHex(RFC5769_IPV6));
        assertEquals(new InetSocketAddress(InetAddress.getByName("2001:db8:1234:5678:11:2233:4455:6677"), 32853), m.mapped());
        assertTrue(m.fingerprinted);
    }

    @Test
    void decode_wrongFingerprint_isMalformed() {
        byte[] b = HexFormat.of().parseHex(RFC5769_IPV4);
        b[b.length - 1] ^= 1;
        StunMessage.MalformedException e = assertThrows(StunMessage.MalformedException.class, () -> StunMessage.decode(b));
        assertTrue(e.getMessage().contains("FINGERPRINT"), e.getMessage());
    }

    @Test
    void decode_wrongCookie_isMalformed() {
        byte[] b = HexFormat.of().parseHex(RFC5769_IPV4);
        b[4] = 0;
        assertTrue(assertThrows(StunMessage.MalformedException.class, () -> StunMessage.decode(b)).getMessage().contains("magic cookie"));
    }

    @Test
    void decode_lengthMismatchOrTruncation_isMalformed() {
        byte[] b = HexFormat.of().parseHex(RFC5769_IPV4);
        assertThrows(StunMessage.MalformedException.class, () -> StunMessage.decode(b, b.length - 4));
        assertThrows(StunMessage.MalformedException.class, () -> StunMessage.decode(new byte[12]));
        byte[] notStun = "HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThrows(StunMessage.MalformedException.class, () -> StunMessage.decode(notStun));
    }

    @Test
    void bindingRequest_withChangeRequestAndFingerprint_decodesBack() throws Exception {
        byte[] tid = HexFormat.of().parseHex("000102030405060708090a0b");
        byte[] req = StunMessage.bindingRequest(tid, StunMessage.CHANGE_IP | StunMessage.CHANGE_PORT, true);
        assertEquals(20 + 8 + 8, req.length);
        StunMessage m = StunMessage.decode(req);
        assertEquals(StunMessage.BINDING_REQUEST, m.type);
        assertTrue(m.fingerprinted);
        assertArrayEquals(tid, m.transactionId);
        assertEquals(0x0003, ByteBuffer.wrap(req, 20, 2).getShort());
        assertEquals(6, req[27]);
    }

    @Test
    void decode_errorResponse_givesCodeAndReason() throws Exception {
        byte[] tid = new byte[12];
        StunMessage m = StunMessage.decode(StunMessage.bindingError(tid, 420, "Unknown Attribute"));
        assertTrue(m.isError());
        assertEquals(420, m.errorCode);
        assertEquals("Unknown Attribute", m.errorReason);
    }

    @Test
    void decode_attributesAfterMessageIntegrity_areIgnored() throws Exception {
        // a success response: MESSAGE-INTEGRITY (20 zero bytes), then an XOR-MAPPED-ADDRESS that must be ignored
        byte[] tid = new byte[12];
        byte[] tail = StunMessage.bindingSuccess(tid, new InetSocketAddress(InetAddress.getByName("192.0.2.9"), 1000), false);
        ByteBuffer b = ByteBuffer.allocate(20 + 24 + 12);
        b.putShort((short) 0x0101).putShort((short) 36).putInt(StunMessage.MAGIC_COOKIE).put(tid);
        b.putShort((short) 0x0008).putShort((short) 20).put(new byte[20]);
        b.put(tail, 20, 12);
        StunMessage m = StunMessage.decode(b.array());
        assertNull(m.mapped());
    }

    @Test
    void decode_unknownComprehensionRequiredAttribute_isRecorded() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.putShort((short) 0x0101).putShort((short) 8).putInt(StunMessage.MAGIC_COOKIE).put(new byte[12]);
        b.putShort((short) 0x7777).putShort((short) 4).putInt(0);
        assertEquals(java.util.List.of(0x7777), StunMessage.decode(b.array()).unknownRequired);
    }
}
