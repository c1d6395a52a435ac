package io.ports.nat;

import io.ports.core.EventLoops;
import io.ports.nat.internal.NatUtil;
import org.bitlet.weupnp.GatewayDevice;
import org.bitlet.weupnp.GatewayDeviceHandler;
import org.bitlet.weupnp.NameValueHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xml.sax.ContentHandler;
import org.xml.sax.InputSource;
import org.xml.sax.XMLReader;

import javax.xml.parsers.SAXParserFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;

/**
 * UPnP IGD (v1 and v2) on top of weupnp's device model. weupnp supplies {@link GatewayDevice} and its
 * SAX handlers ({@link GatewayDeviceHandler} for the description, {@link NameValueHandler} for SOAP
 * answers); discovery, HTTP and error handling are done here because weupnp's fall short (see
 * README.md, "What weupnp does not do"):
 * <ul>
 *   <li>discovery: {@link Ssdp}, bounded, repeated, unicast to the gateway plus multicast on chosen interfaces;</li>
 *   <li>HTTP with connect and read timeouts per call (weupnp has one process-wide read timeout and no connect
 *       timeout for the description), a size cap, and a parser that refuses DOCTYPEs (no XXE from the LAN);</li>
 *   <li>SOAP arguments XML-escaped, UPnP error codes surfaced as {@link MappingRefusedException} instead of a
 *       {@code false};</li>
 *   <li>a finite lease ({@code NewLeaseDuration}), retried as permanent (0) on 725 OnlyPermanentLeasesSupported
 *       or 402 InvalidArgs; 718 ConflictInMappingEntry answered by another random external port;</li>
 *   <li>the control URL rediscovered when it stops answering (routers move it on reboot).</li>
 * </ul>
 * Blocking HTTP runs on {@code blocking}, never on an event loop.
 */
final class UpnpMapper implements PortMapper {
    private static final Logger log = LoggerFactory.getLogger(UpnpMapper.class);
    private static final int MAX_BODY = 256 * 1024;
    private static final int CONFLICT_RETRIES = 4;

    /** A device found and described: where to send SOAP. */
    record Device(String location, String controlUrl, String serviceType, String friendlyName) {
    }

    private final EventLoops loops;
    private final Executor blocking;
    private final InetAddress gateway;
    private final InetSocketAddress ssdpTarget;
    private final List<NetworkInterface> interfaces;
    private final Duration httpTimeout;
    private final Duration discoveryBudget;
    private final CopyOnWriteArrayList<Runnable> stateLost = new CopyOnWriteArrayList<>();
    private volatile Device device;
    private CompletableFuture<Device> discovering;

    UpnpMapper(EventLoops loops, Executor blocking, InetAddress gateway, int ssdpPort, List<NetworkInterface> interfaces,
               Duration httpTimeout, Duration discoveryBudget) {
        this.loops = loops;
        this.blocking = blocking;
        this.gateway = gateway;
        this.ssdpTarget = new InetSocketAddress(gateway, ssdpPort);
        this.interfaces = List.copyOf(interfaces);
        this.httpTimeout = httpTimeout;
        this.discoveryBudget = discoveryBudget;
    }

    @Override
    public MappingProtocol protocol() {
        return MappingProtocol.UPNP;
    }

    @Override
    public void onStateLost(Runnable listener) {
        stateLost.add(listener);
    }

    Device device() {
        return device;
    }

    @Override
    public CompletableFuture<String> probe(Duration budget) {
        return discover(budget).thenCompose(d -> soap(d, "GetExternalIPAddress", Map.of(), budget)
                .thenApply(r -> "IGD " + d.serviceType() + " at " + d.location() + ", external address " + r.get("NewExternalIPAddress")));
    }

    /** The device, discovering it when unknown (one discovery at a time). */
    private CompletableFuture<Device> device(Duration budget) {
        Device d = device;
        return d != null ? CompletableFuture.completedFuture(d) : discover(budget);
    }

    private synchronized CompletableFuture<Device> discover(Duration budget) {
        if (discovering != null && !discovering.isDone()) {
            return discovering;
        }
        InetAddress source = NatUtil.sourceAddressFor(gateway);
        CompletableFuture<Device> f = Ssdp.discover(loops, ssdpTarget, source, interfaces, budget)
                .thenComposeAsync(answer -> describe(answer.location()), blocking);
        f.thenAccept(d -> device = d);
        discovering = f;
        return f;
    }

    /** Fetches and parses the description, resolving the control URL against URLBase or the description's URL. */
    private CompletableFuture<Device> describe(String location) {
        try {
            byte[] body = get(location);
            GatewayDevice gd = new GatewayDevice();
            gd.setLocation(location);
            parse(body, new GatewayDeviceHandler(gd));
            String type = gd.getServiceType();
            if (gd.getControlURL() == null || type == null
                    || !(type.contains(":WANIPConnection:") || type.contains(":WANPPPConnection:"))) {
                throw new NatTraversalException("UPnP: the device described at " + location + " has no WANIPConnection or"
                        + " WANPPPConnection service (service type " + type + "): it is not an Internet gateway");
            }
            String base = gd.getURLBase() != null && !gd.getURLBase().isBlank() ? gd.getURLBase().trim() : location;
            String control = URI.create(base).resolve(gd.getControlURL().trim()).toString();
            Device d = new Device(location, control, type.trim(), gd.getFriendlyName());
            log.debug("UPnP device {} ({}) control {}", location, d.serviceType(), control);
            return CompletableFuture.completedFuture(d);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e instanceof NatTraversalException ? e
                    : new NatTraversalException("UPnP: cannot read the device description at " + location + ": " + NatUtil.describe(e), e));
        }
    }

    private byte[] get(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setConnectTimeout(timeoutMillis(httpTimeout));
        c.setReadTimeout(timeoutMillis(httpTimeout));
        c.setInstanceFollowRedirects(false);
        // one connection per request, as for the SOAP calls: a kept-alive connection left in the JDK's
        // cache would be reused by the next call, a POST that cannot be retried when the gateway (which
        // may close idle connections at any time) has closed it meanwhile
        c.setRequestProperty("Connection", "close");
        try {
            int status = c.getResponseCode();
            if (status != 200) {
                throw new IOException("HTTP " + status + " for " + url);
            }
            try (InputStream in = c.getInputStream()) {
                return readCapped(in);
            }
        } finally {
            c.disconnect();
        }
    }

    private static int timeoutMillis(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }

    private static byte[] readCapped(InputStream in) throws IOException {
        byte[] b = in.readNBytes(MAX_BODY + 1);
        if (b.length > MAX_BODY) {
            throw new IOException("answer larger than " + MAX_BODY + " bytes");
        }
        return b;
    }

    /** Parses with DOCTYPEs refused and external entities off: a LAN device cannot make us read files or URLs. */
    static void parse(byte[] xml, ContentHandler handler) throws IOException {
        try {
            SAXParserFactory f = SAXParserFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature("http://xml.org/sax/features/external-general-entities", false);
            f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            f.setXIncludeAware(false);
            XMLReader r = f.newSAXParser().getXMLReader();
            r.setContentHandler(handler);
            r.parse(new InputSource(new ByteArrayInputStream(xml)));
        } catch (javax.xml.parsers.ParserConfigurationException | org.xml.sax.SAXException e) {
            throw new IOException("unparseable XML: " + e.getMessage(), e);
        }
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<': b.append("&lt;"); break;
                case '>': b.append("&gt;"); break;
                case '&': b.append("&amp;"); break;
                case '"': b.append("&quot;"); break;
                case '\'': b.append("&apos;"); break;
                default: b.append(c < 0x20 && c != '\t' ? ' ' : c);
            }
        }
        return b.toString();
    }

    /** The control URL did not answer at all (refused, unreachable, connect timeout): the device moved or is gone. */
    static final class Unreachable extends IOException {
        private static final long serialVersionUID = 1L;

        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** One SOAP action on the executor; the answer's elements by local name, or a refusal with the UPnP error code. */
    private CompletableFuture<Map<String, String>> soap(Device d, String action, Map<String, String> args, Duration timeout) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return soapBlocking(d, action, args, timeout);
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, blocking);
    }

    private Map<String, String> soapBlocking(Device d, String action, Map<String, String> args, Duration timeout) throws IOException {
        StringBuilder body = new StringBuilder("<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
                + " s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:" + action + " xmlns:u=\""
                + escape(d.serviceType()) + "\">");
        args.forEach((k, v) -> body.append('<').append(k).append('>').append(escape(v)).append("</").append(k).append('>'));
        body.append("</u:").append(action).append("></s:Body></s:Envelope>\r\n");
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        HttpURLConnection c = (HttpURLConnection) URI.create(d.controlUrl()).toURL().openConnection();
        Duration t = timeout.compareTo(httpTimeout) < 0 ? timeout : httpTimeout;
        c.setConnectTimeout(timeoutMillis(t));
        c.setReadTimeout(timeoutMillis(t));
        c.setInstanceFollowRedirects(false);
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setRequestProperty("Content-Type", "text/xml; charset=\"utf-8\"");
        c.setRequestProperty("SOAPAction", "\"" + d.serviceType() + "#" + action + "\"");
        c.setRequestProperty("Connection", "close");
        c.setFixedLengthStreamingMode(bytes.length);
        String what = "UPnP " + action + " at " + d.controlUrl();
        try {
            try (OutputStream out = c.getOutputStream()) {
                out.write(bytes);
            } catch (ConnectException | NoRouteToHostException e) {
                throw new Unreachable(what + ": " + NatUtil.describe(e), e);
            } catch (SocketTimeoutException e) {
                throw new Unreachable(what + ": connect timed out after " + NatUtil.format(t), e);
            }
            int status = c.getResponseCode();
            Map<String, String> values = new HashMap<>();
            if (status == 200) {
                try (InputStream in = c.getInputStream()) {
                    parse(readCapped(in), new NameValueHandler(values));
                }
                return values;
            }
            InputStream err = c.getErrorStream();
            if (err != null) {
                try (InputStream in = err) {
                    parse(readCapped(in), new NameValueHandler(values));
                } catch (IOException unparseable) {
                    values.clear();
                }
            }
            String code = values.get("errorCode");
            if (status == 500 && code != null) {
                int n;
                try {
                    n = Integer.parseInt(code.trim());
                } catch (NumberFormatException e) {
                    n = -1;
                }
                String desc = values.getOrDefault("errorDescription", ResultCodes.upnpName(n)).trim();
                throw new MappingRefusedException(what + " refused: " + n + " " + desc + ": " + ResultCodes.upnpAdvice(n),
                        MappingProtocol.UPNP, n, ResultCodes.upnpName(n));
            }
            throw new IOException(what + ": HTTP " + status + (values.isEmpty() ? " without a UPnP error" : " " + values));
        } finally {
            c.disconnect();
        }
    }

    private static boolean unreachable(Throwable t) {
        return NatUtil.unwrap(t) instanceof Unreachable;
    }

    /**
     * Runs an action on the known device; when its control URL does not answer, rediscovers and
     * retries once on the new one, telling the state-lost listeners (the router restarted or moved
     * its SOAP port, so its mappings are likely gone).
     */
    private CompletableFuture<Map<String, String>> call(String action, Map<String, String> args, boolean[] rediscovered) {
        return device(discoveryBudget).thenCompose(d -> soap(d, action, args, httpTimeout).handle((r, t) -> {
            if (t == null) {
                return CompletableFuture.completedFuture(r);
            }
            if (!unreachable(t)) {
                return CompletableFuture.<Map<String, String>>failedFuture(NatUtil.unwrap(t));
            }
            log.info("UPnP control URL {} stopped answering ({}); discovering the gateway again", d.controlUrl(), NatUtil.describe(t));
            synchronized (this) {
                if (device == d) {
                    device = null;
                }
            }
            return device(discoveryBudget).handle((nd, dt) -> {
                if (dt != null) {
                    return CompletableFuture.<Map<String, String>>failedFuture(new GatewayUdp.NoAnswer("UPnP: the control URL "
                            + d.controlUrl() + " stopped answering (" + NatUtil.describe(t) + ") and rediscovery found nothing: "
                            + NatUtil.describe(dt), 1, discoveryBudget, true));
                }
                rediscovered[0] = true;
                return soap(nd, action, args, httpTimeout);
            }).thenCompose(f -> f);
        }).thenCompose(f -> f));
    }

    @Override
    public CompletableFuture<InetAddress> externalAddress() {
        return call("GetExternalIPAddress", Map.of(), new boolean[1]).thenApply(r -> {
            String a = r.get("NewExternalIPAddress");
            if (a == null || a.isBlank()) {
                throw new NatTraversalException("UPnP GetExternalIPAddress: the gateway returned no address (its WAN link may be down)");
            }
            try {
                return InetAddress.getByName(a.trim());
            } catch (java.net.UnknownHostException e) {
                throw new NatTraversalException("UPnP GetExternalIPAddress: '" + a + "' is not an IP address");
            }
        });
    }

    @Override
    public CompletableFuture<Grant> map(PortMapper.Request req) {
        InetAddress client = NatUtil.sourceAddressFor(gateway);
        if (client == null) {
            return CompletableFuture.failedFuture(new NatTraversalException("UPnP: no local address routes to gateway "
                    + NatUtil.format(gateway)));
        }
        boolean[] rediscovered = new boolean[1];
        int first = req.suggestedExternalPort() != 0 ? req.suggestedExternalPort() : req.internalPort();
        return add(req, client, first, req.lifetimeSeconds(), 0, rediscovered, new StringBuilder()).thenCompose(g ->
                externalAddress().thenApply(ext -> {
                    if (rediscovered[0]) {
                        stateLost.forEach(Runnable::run);
                    }
                    Device d = device;
                    String note = (rediscovered[0] ? "the control URL stopped answering; found the gateway again at "
                            + (d == null ? "a new URL" : d.controlUrl()) + "; " : "") + g.note();
                    return new Grant(ext, g.externalPort(), g.lifetimeSeconds(), rediscovered[0],
                            note.endsWith("; ") ? note.substring(0, note.length() - 2) : note);
                }));
    }

    private CompletableFuture<Grant> add(PortMapper.Request req, InetAddress client, int external, long lease, int conflicts,
                                         boolean[] rediscovered, StringBuilder notes) {
        Map<String, String> args = new LinkedHashMap<>();
        args.put("NewRemoteHost", "");
        args.put("NewExternalPort", Integer.toString(external));
        args.put("NewProtocol", req.transport().name());
        args.put("NewInternalPort", Integer.toString(req.internalPort()));
        args.put("NewInternalClient", NatUtil.format(client));
        args.put("NewEnabled", "1");
        args.put("NewPortMappingDescription", req.description());
        args.put("NewLeaseDuration", Long.toString(lease));
        return call("AddPortMapping", args, rediscovered).handle((r, t) -> {
            if (t == null) {
                return CompletableFuture.completedFuture(new Grant(null, external, lease, false, notes.toString()));
            }
            Throwable c = NatUtil.unwrap(t);
            if (c instanceof MappingRefusedException) {
                int code = ((MappingRefusedException) c).resultCode();
                if ((code == 725 || code == 402) && lease != 0) {
                    notes.append("the gateway refused lease ").append(lease).append(" s with ").append(code)
                            .append(", mapped permanently and renewed anyway; ");
                    return add(req, client, external, 0, conflicts, rediscovered, notes);
                }
                if (code == 718 && conflicts < CONFLICT_RETRIES) {
                    int next = ThreadLocalRandom.current().nextInt(10_000, 65_536);
                    notes.append("external port ").append(external).append(" was taken (718), tried ").append(next).append("; ");
                    return add(req, client, next, lease, conflicts + 1, rediscovered, notes);
                }
            }
            return CompletableFuture.<Grant>failedFuture(c);
        }).thenCompose(f -> f);
    }

    @Override
    public CompletableFuture<Void> unmap(PortMapper.Request req, Grant granted) {
        Map<String, String> args = new LinkedHashMap<>();
        args.put("NewRemoteHost", "");
        args.put("NewExternalPort", Integer.toString(granted == null ? req.internalPort() : granted.externalPort()));
        args.put("NewProtocol", req.transport().name());
        return call("DeletePortMapping", args, new boolean[1]).thenApply(r -> null);
    }

    @Override
    public void close() {
        stateLost.clear();
    }
}
