package dev.keel.benchmarks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarizes the CPU samples ({@code jdk.ExecutionSample}) of a JFR recording: samples per thread
 * group, the hottest methods by self time, and by inclusive time (a method counted once per sample
 * it appears in). Enough to see where a load test's CPU goes without an external profiler.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.keel.benchmarks.JfrTop recording.jfr [threadPrefix] [top]}.
 */
public final class JfrTop {

    private JfrTop() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: JfrTop recording.jfr [threadPrefix] [top]");
            System.exit(2);
        }
        String prefix = args.length > 1 ? args[1] : "";
        int top = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        Map<String, Integer> byThread = new HashMap<>();
        Map<String, Integer> self = new HashMap<>();
        Map<String, Integer> inclusive = new HashMap<>();
        int total = 0;
        for (RecordedEvent event : RecordingFile.readAllEvents(Path.of(args[0]))) {
            if (!event.getEventType().getName().equals("jdk.ExecutionSample")) {
                continue;
            }
            RecordedThread thread = event.getThread("sampledThread");
            String name = thread == null ? "?" : String.valueOf(thread.getJavaName());
            String group = name.replaceAll("[-#_ ]?\\d+$", "");
            byThread.merge(group, 1, Integer::sum);
            if (!name.startsWith(prefix)) {
                continue;
            }
            RecordedStackTrace stack = event.getStackTrace();
            if (stack == null || stack.getFrames().isEmpty()) {
                continue;
            }
            total++;
            List<RecordedFrame> frames = stack.getFrames();
            self.merge(describe(frames.get(0)), 1, Integer::sum);
            Set<String> seen = new HashSet<>();
            for (RecordedFrame frame : frames) {
                String method = describe(frame);
                if (seen.add(method)) {
                    inclusive.merge(method, 1, Integer::sum);
                }
            }
        }
        int all = byThread.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("%d CPU samples; by thread group:%n", all);
        print(byThread, all, 15);
        System.out.printf("%nthreads starting with \"%s\": %d samples; self time:%n", prefix, total);
        print(self, total, top);
        System.out.printf("%ninclusive time:%n");
        print(inclusive, total, top * 2);
    }

    private static String describe(RecordedFrame frame) {
        return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
    }

    private static void print(Map<String, Integer> counts, int total, int limit) {
        counts.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .limit(limit)
                .forEach(e -> System.out.printf("  %5.1f%%  %6d  %s%n", 100.0 * e.getValue() / Math.max(1, total),
                        e.getValue(), e.getKey()));
    }
}
