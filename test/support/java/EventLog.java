import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The stdout half of FakeJobManager's line protocol. The test harness parses stdout line by line,
 * so nothing else may write there: claimStdout() points System.out at stderr, where slf4j-simple
 * logs too.
 */
final class EventLog {

    private static final PrintStream OUT =
            new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);

    private EventLog() {}

    /** Call first in main: from then on a stray System.out.println lands on stderr. */
    static void claimStdout() {
        System.setOut(System.err);
    }

    /** Writes one line and flushes, so the harness sees events as they happen. Thread-safe. */
    static void emit(String line) {
        synchronized (OUT) {
            OUT.print(line);
            OUT.print('\n');
            OUT.flush();
        }
    }

    /** ZooKeeper session ids as 16 hex digits: the ephemeralOwner of our nodes, big-endian. */
    static String sessionHex(long sessionId) {
        return String.format("%016x", sessionId);
    }
}
