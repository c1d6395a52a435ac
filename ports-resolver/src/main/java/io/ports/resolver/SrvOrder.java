package io.ports.resolver;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.function.ToIntFunction;

/**
 * RFC 2782 ordering: ascending priority; within one priority a weighted random draw without
 * replacement.
 *
 * <p>The draw, for the records not yet ordered: with S the sum of their weights, records of weight 0
 * together get a chance of 1/(S+1) ("a very small chance of being selected", RFC 2782) and are
 * chosen among themselves uniformly; every other record gets weight/(S+1), or weight/S when there
 * is no weight-0 record. When all weights are 0 the choice is uniform. This is the RFC's running-sum
 * algorithm with the records of weight 0 in random order at the front, without the RFC text's
 * off-by-one bias towards the first positive record.
 */
final class SrvOrder {
    private SrvOrder() {
    }

    /** One SRV record as cached: target is absolute (with the trailing dot), "." for none. */
    record Srv(int priority, int weight, int port, String target) {
        boolean usable() {
            return !".".equals(target) && port != 0;
        }
    }

    /** The usable records (not target ".", not port 0) in RFC 2782 order, drawn with {@code random}. */
    static List<Srv> order(List<Srv> records, Random random) {
        List<Srv> usable = new ArrayList<>(records.size());
        for (Srv s : records) {
            if (s.usable()) {
                usable.add(s);
            }
        }
        usable.sort(Comparator.comparingInt(Srv::priority));
        List<Srv> out = new ArrayList<>(usable.size());
        int i = 0;
        while (i < usable.size()) {
            int j = i;
            while (j < usable.size() && usable.get(j).priority() == usable.get(i).priority()) {
                j++;
            }
            List<Srv> group = new ArrayList<>(usable.subList(i, j));
            while (!group.isEmpty()) {
                out.add(group.remove(pick(group, Srv::weight, random)));
            }
            i = j;
        }
        return out;
    }

    /** Index of one item drawn by weight as the class comment describes; {@code items} must not be empty. */
    static <T> int pick(List<T> items, ToIntFunction<T> weight, Random random) {
        long sum = 0;
        int zeros = 0;
        for (T t : items) {
            int w = weight.applyAsInt(t);
            sum += w;
            if (w == 0) {
                zeros++;
            }
        }
        if (sum == 0) {
            return random.nextInt(items.size());
        }
        long r = zeros > 0 ? nextLong(random, sum + 1) : 1 + nextLong(random, sum);
        if (r == 0) {
            int k = random.nextInt(zeros);
            for (int i = 0; i < items.size(); i++) {
                if (weight.applyAsInt(items.get(i)) == 0 && k-- == 0) {
                    return i;
                }
            }
        }
        long running = 0;
        for (int i = 0; i < items.size(); i++) {
            running += weight.applyAsInt(items.get(i));
            if (running >= r) {
                return i;
            }
        }
        return items.size() - 1; // unreachable: r <= sum
    }

    private static long nextLong(Random random, long bound) {
        // bound is at most 65535 * 65536 + 1, far below 2^31 * 2^31
        return bound <= Integer.MAX_VALUE ? random.nextInt((int) bound) : Math.floorMod(random.nextLong(), bound);
    }

    static <T> List<T> shuffled(List<T> list, Random random) {
        List<T> copy = new ArrayList<>(list);
        Collections.shuffle(copy, random);
        return copy;
    }
}
