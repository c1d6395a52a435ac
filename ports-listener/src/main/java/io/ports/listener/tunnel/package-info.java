/**
 * The WebSocket tunnel that carries database TCP connections through networks that only let HTTPS
 * out: {@link io.ports.listener.tunnel.TunnelServer} (a listener whose connections are WebSocket
 * upgrades, each bridged to one allowed TCP target) and {@link io.ports.listener.tunnel.TunnelClient}
 * (a local listener whose connections are each carried over their own WebSocket), both on the shared
 * event loops, with {@link io.ports.listener.tunnel.TunnelCounters} for the metrics module.
 *
 * <h2>Wire format</h2>
 * websockify's: one WebSocket per TCP connection, the raw bytes in binary frames, message boundaries
 * without meaning, subprotocol {@code binary} when offered, no extensions. Either end interoperates
 * with websockify and with standard WebSocket clients.
 *
 * <h2>Close codes</h2>
 * <table>
 *   <caption>what each end sends</caption>
 *   <tr><th>code</th><th>when</th><th>the receiving end's TCP side</th></tr>
 *   <tr><td>1000</td><td>the sender's TCP side reached end of stream</td><td>output shut down (FIN) after the data; the other direction goes on</td></tr>
 *   <tr><td>1001</td><td>the sender is stopping</td><td>closed after the data (FIN)</td></tr>
 *   <tr><td>1002</td><td>a protocol error (an unmasked client frame, a bad opcode)</td><td>reset</td></tr>
 *   <tr><td>1003</td><td>a text frame</td><td>reset</td></tr>
 *   <tr><td>1007</td><td>a Close whose reason is not UTF-8</td><td>reset</td></tr>
 *   <tr><td>1009</td><td>a frame or message over the configured limits</td><td>reset</td></tr>
 *   <tr><td>1011</td><td>the sender's TCP side failed or was reset</td><td>reset</td></tr>
 * </table>
 * A WebSocket that drops without a Close, or a peer that stays silent beyond the ping timeout, resets
 * the TCP side too: an application always tells a broken stream (a reset) from an ended one (a FIN).
 *
 * <h2>Flow control</h2>
 * Nothing is buffered without bound: each end stops reading one side while the other side's channel
 * holds more than the high water mark, so a slow reader anywhere slows the writer at the other end
 * through TCP itself.
 *
 * <h2>Half-close on the epoll transport: a Netty fault worked around</h2>
 * On Netty 4.2.18's epoll transport, a connection whose peer has half-closed (sent its FIN) and
 * which then has to wait to write (its reader is slow) can lose the rest of its output: once the
 * channel's interest set becomes empty, {@code EpollIoHandler} deletes the descriptor from epoll but
 * keeps it registered as added, the next {@code epoll_ctl(MOD)} fails with {@code ENOENT}, and Netty
 * shuts the output down. The application sees a clean end of stream early (measured: 36 of 100
 * half-close echoes of 16 MiB through the tunnel with a slow reader). {@code EpollHalfClose} keeps
 * {@code EPOLLERR} in the interest set of every TCP channel of the tunnel, from its creation until
 * both its directions are shut, so the set is never empty and the descriptor stays in epoll;
 * {@code EpollHalfCloseTest} shows the fault on plain Netty and its absence with the workaround.
 * io_uring, which {@link io.ports.core.EventLoops} picks wherever the kernel offers it, does not
 * have this fault.
 */
package io.ports.listener.tunnel;
