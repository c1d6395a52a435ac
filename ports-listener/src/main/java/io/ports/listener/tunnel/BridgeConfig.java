package io.ports.listener.tunnel;

import io.netty.channel.WriteBufferWaterMark;

import java.time.Duration;

/** What one bridge needs from either end's options. */
record BridgeConfig(int maxFramePayload, int maxMessageSize, Duration pingInterval, Duration pingTimeout, Duration closeTimeout,
                    WriteBufferWaterMark waterMark) {
}
