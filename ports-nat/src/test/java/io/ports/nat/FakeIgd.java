package io.ports.nat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.ports.nat.testsupport.FakeUdpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-process UPnP IGD v1 on 127.0.0.1: an SSDP responder (unicast only) and an HTTP server with the
 * description and a WANIPConnection:1 control URL whose AddPortMapping answers can be scripted with
 * UPnP error codes (725, 402, 718, 606...). {@link #moveHttp()} restarts HTTP on another port, as a
 * rebooted router does.
 */
final class FakeIgd implements AutoCloseable {
    static final String SERVICE = "urn:schemas-upnp-org:service:WANIPConnection:1";
    static final String EXTERNAL = "198.51.100.20";

    final FakeUdpServer ssdp;
    private volatile HttpServer http;
    volatile String description = description(null);
    final Deque<Integer> addErrors = new ArrayDeque<>();
    final List<Map<String, String>> adds = new CopyOnWriteArrayList<>();
    final List<Map<String, String>> deletes = new CopyOnWriteArrayList<>();
    final Map<String, String> mappings = new ConcurrentHashMap<>();
    final List<String> rawBodies = new CopyOnWriteArrayList<>();
    /** The Connection header of every request, description and control alike (null where absent). */
    final List<String> connectionHeaders = new CopyOnWriteArrayList<>();

    FakeIgd() throws IOException {
        http = startHttp();
        ssdp = FakeUdpServer.start((req, from, n) -> {
            String text = new String(req, StandardCharsets.US_ASCII);
            if (!text.startsWith("M-SEARCH") || !text.contains("InternetGatewayDevice:1")) {
                return List.of();
            }
            String answer = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                    + "USN: uuid:fake::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\nSERVER: fake UPnP/1.1\r\n"
                    + "LOCATION: http://127.0.0.1:" + http.getAddress().getPort() + "/desc.xml\r\n\r\n";
            return List.of(FakeUdpServer.Reply.of(answer.getBytes(StandardCharsets.US_ASCII)));
        });
    }

    static String description(String doctype) {
        return "<?xml version=\"1.0\"?>\n" + (doctype == null ? "" : doctype + "\n")
                + "<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><specVersion><major>1</major><minor>0</minor></specVersion>"
                + "<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><friendlyName>fake</friendlyName>"
                + "<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
                + "<controlURL>/l3f</controlURL></service></serviceList><deviceList><device>"
                + "<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType><serviceList><service>"
                + "<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType><controlURL>/cif</controlURL>"
                + "</service></serviceList><deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>"
                + "<serviceList><service><serviceType>" + SERVICE + "</serviceType><controlURL>ctl/IPConn</controlURL>"
                + "</service></serviceList></device></deviceList></device></deviceList></device></root>";
    }

    private HttpServer startHttp() throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        s.createContext("/desc.xml", ex -> {
            connectionHeaders.add(ex.getRequestHeaders().getFirst("Connection"));
            reply(ex, 200, description);
        });
        s.createContext("/ctl/IPConn", this::control);
        s.start();
        return s;
    }

    int ssdpPort() {
        return ssdp.address().getPort();
    }

    int httpPort() {
        return http.getAddress().getPort();
    }

    /** Stops HTTP and starts it again on another port; mappings are lost, as in a router reboot. */
    void moveHttp() throws IOException {
        HttpServer old = http;
        http = startHttp();
        old.stop(0);
        mappings.clear();
    }

    private void control(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        rawBodies.add(body);
        connectionHeaders.add(ex.getRequestHeaders().getFirst("Connection"));
        String action = ex.getRequestHeaders().getFirst("SOAPAction");
        Map<String, String> args = new HashMap<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("<(New\\w+)>([^<]*)</\\1>").matcher(body);
        while (m.find()) {
            args.put(m.group(1), m.group(2));
        }
        if (action.contains("#GetExternalIPAddress")) {
            reply(ex, 200, envelope("GetExternalIPAddressResponse", "<NewExternalIPAddress>" + EXTERNAL + "</NewExternalIPAddress>"));
        } else if (action.contains("#AddPortMapping")) {
            adds.add(args);
            Integer error;
            synchronized (addErrors) {
                error = addErrors.poll();
            }
            if (error != null) {
                reply(ex, 500, fault(error));
            } else {
                mappings.put(args.get("NewProtocol") + ":" + args.get("NewExternalPort"), args.get("NewInternalPort"));
                reply(ex, 200, envelope("AddPortMappingResponse", ""));
            }
        } else if (action.contains("#DeletePortMapping")) {
            deletes.add(args);
            mappings.remove(args.get("NewProtocol") + ":" + args.get("NewExternalPort"));
            reply(ex, 200, envelope("DeletePortMappingResponse", ""));
        } else {
            reply(ex, 500, fault(401));
        }
    }

    static String envelope(String response, String content) {
        return "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:" + response
                + " xmlns:u=\"" + SERVICE + "\">" + content + "</u:" + response + "></s:Body></s:Envelope>";
    }

    static String fault(int code) {
        return "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>"
                + "<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">"
                + "<errorCode>" + code + "</errorCode><errorDescription>" + ResultCodes.upnpName(code) + "</errorDescription></UPnPError>"
                + "</detail></s:Fault></s:Body></s:Envelope>";
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/xml; charset=\"utf-8\"");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        http.stop(0);
        ssdp.close();
    }
}
