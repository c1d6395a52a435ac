package io.ports.listener.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.Native;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Works around a fault of Netty 4.2.18's epoll transport that loses the output of a half-closed
 * connection.
 *
 * <p>The fault: {@code EpollIoHandler.DefaultEpollIoRegistration.submit} handles an empty interest set
 * in state {@code Added} with {@code epoll_ctl(EPOLL_CTL_DEL)} but leaves the state {@code Added}; the
 * next non-empty submit is an {@code epoll_ctl(EPOLL_CTL_MOD)} of a descriptor epoll no longer holds,
 * which fails with {@code ENOENT}. A stream channel that allows half-closure gets there once its peer
 * has sent its FIN: Netty's input shutdown clears {@code EPOLLIN} (autoRead off) and {@code EPOLLRDHUP},
 * so as soon as no write is waiting ({@code EPOLLOUT} cleared) the set is empty and the descriptor is
 * deleted. The next write that has to wait for the socket (a slow reader) sets {@code EPOLLOUT}, the
 * {@code MOD} fails, and Netty shuts the output down: the application sees a clean end of stream early,
 * with the rest of the data lost.
 *
 * <p>The workaround: {@code EPOLLERR} is added to the channel's interest set (through
 * {@code AbstractEpollChannel.setFlag(int)}, protected, called reflectively), so the set is never
 * empty, the descriptor is never deleted, and every later {@code MOD} finds it. The kernel reports
 * {@code EPOLLERR} (and {@code EPOLLHUP}) whatever the interest set, so this changes nothing the
 * kernel reports while the descriptor is watched; what changes is that a half-closed channel stays
 * watched. Netty handles an {@code EPOLLERR} by flushing and reading, which finds the error and
 * closes the channel, as it would for any channel. But a socket whose two directions are both shut
 * down reports {@code EPOLLHUP} on every wait (level-triggered), which Netty ignores: a channel left
 * open in that state with {@code EPOLLERR} in its interest would keep its loop busy (measured: 992 ms
 * of CPU in an idle second). So once both directions are shut (the input and output shutdown events,
 * seen by this handler first in the pipeline), {@code EPOLLERR} goes again through
 * {@code clearFlag(int)} and the channel is back to Netty's own behaviour, in which the descriptor
 * leaves epoll: nothing can be written to it any more. A half-closed socket that its peer resets
 * reports {@code EPOLLHUP} too, which Netty does not act on while it has nothing to write; so while
 * the channel is half-closed its TCP state is looked at every {@value #WATCH_MS} ms, and a reset
 * channel fails and is closed (plain Netty would notice the reset only at its next write).
 * {@code EpollHalfCloseTest} measures the three states idle for a second. Unix sockets are left
 * alone: a Unix socket whose peer closes reports {@code EPOLLHUP} as well and has no TCP state to
 * look at.
 *
 * <p>On a Netty whose {@code setFlag} cannot be reached, a warning is logged once and channels are
 * left as they are.
 */
@ChannelHandler.Sharable
final class EpollHalfClose extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(EpollHalfClose.class);
    private static final EpollHalfClose INSTANCE = new EpollHalfClose();
    private static final String NAME = "epoll-half-close";
    private static final int TCP_CLOSE = 7; // linux/tcp_states.h
    static final long WATCH_MS = 100;
    private static final AtomicBoolean warned = new AtomicBoolean();
    private static volatile Method setFlag;
    private static volatile Method clearFlag;
    private static volatile boolean unavailable;

    private EpollHalfClose() {
    }

    /**
     * Keeps {@code ch}'s epoll interest set from becoming empty while one of its directions is open,
     * if it is an epoll TCP channel (not a Unix socket: see the class comment). Call it once the channel is registered; other channels are
     * left alone. Calling it again does nothing.
     */
    static void apply(Channel ch) {
        if (!(ch instanceof EpollSocketChannel) || !ch.isRegistered() || !ch.isOpen() || unavailable) {
            return;
        }
        if (!ch.eventLoop().inEventLoop()) {
            ch.eventLoop().execute(() -> apply(ch));
            return;
        }
        if (ch.pipeline().get(NAME) != null || !reflect()) {
            return;
        }
        if (((EpollSocketChannel) ch).isShutdown()) {
            return;
        }
        ch.pipeline().addFirst(NAME, INSTANCE);
        invoke(setFlag, ch);
    }

    /**
     * Both directions shut: EPOLLERR goes again, as the socket now reports EPOLLHUP on every wait. Input
     * shut, output open: the reset watch starts.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof ChannelOutputShutdownEvent) {
            EpollSocketChannel ch = (EpollSocketChannel) ctx.channel();
            if (ch.isShutdown()) {
                ctx.pipeline().remove(this);
                invoke(clearFlag, ch);
            } else if (ch.isInputShutdown() && evt instanceof ChannelInputShutdownEvent) {
                watchForReset(ch);
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * A half-closed socket that its peer resets reports EPOLLHUP (and once EPOLLERR) on every wait;
     * Netty, with nothing to write and its input ended, does nothing about it, so the loop would spin
     * until the next write fails. Plain Netty never sees the reset (the descriptor left epoll): it
     * finds it at the next write. Here the TCP state is looked at every {@value #WATCH_MS} ms while the
     * channel is half-closed, and a reset channel fails and is closed.
     */
    private static void watchForReset(EpollSocketChannel ch) {
        ScheduledFuture<?>[] watch = new ScheduledFuture<?>[1];
        watch[0] = ch.eventLoop().scheduleWithFixedDelay(() -> {
            if (!ch.isOpen() || ch.isShutdown()) {
                watch[0].cancel(false);
                return;
            }
            int state;
            try {
                state = ch.tcpInfo().state();
            } catch (RuntimeException e) {
                state = TCP_CLOSE;
            }
            if (state == TCP_CLOSE) {
                watch[0].cancel(false);
                ch.pipeline().fireExceptionCaught(new IOException("connection reset by peer after its half-close"));
                ch.close();
            }
        }, WATCH_MS, WATCH_MS, TimeUnit.MILLISECONDS);
        ch.closeFuture().addListener(f -> watch[0].cancel(false));
    }

    private static void invoke(Method m, Channel ch) {
        try {
            m.invoke(ch, Native.EPOLLERR);
        } catch (InvocationTargetException e) {
            // the channel's registration failed (it was closed meanwhile): nothing left to keep
            log.debug("{}: changing EPOLLERR in the epoll interest failed: {}", ch, e.getCause().toString());
        } catch (IllegalAccessException | RuntimeException | LinkageError e) {
            unavailable = true;
            warnOnce(e);
        }
    }

    private static boolean reflect() {
        if (clearFlag != null) {
            return true;
        }
        try {
            // AbstractEpollChannel is package-private; every epoll channel changes its interest set through
            // its protected setFlag and package-private clearFlag
            Class<?> c = Class.forName("io.netty.channel.epoll.AbstractEpollChannel", false, AbstractEpollStreamChannel.class.getClassLoader());
            Method set = c.getDeclaredMethod("setFlag", int.class);
            Method clear = c.getDeclaredMethod("clearFlag", int.class);
            set.setAccessible(true);
            clear.setAccessible(true);
            setFlag = set;
            clearFlag = clear;
            return true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            unavailable = true;
            warnOnce(e);
            return false;
        }
    }

    private static void warnOnce(Throwable e) {
        if (warned.compareAndSet(false, true)) {
            log.warn("cannot add EPOLLERR to the epoll interest of half-closed tunnel connections (AbstractEpollChannel.setFlag/clearFlag(int) "
                    + "not reachable: {}); on this Netty's epoll transport a half-closed connection may lose the end of its output "
                    + "(EpollIoHandler deletes an fd whose interest set is empty and then fails to modify it, ENOENT)", e.toString());
        }
    }
}
