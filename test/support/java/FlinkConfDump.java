import java.lang.reflect.Method;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prints the configuration a real Flink reads from a conf directory, as Flink itself reads it:
 * GlobalConfiguration.loadConfiguration(confDir).toMap(), one JSON object on one stdout line after
 * the marker MARKER. Run it on the classpath of the Flink version in question.
 *
 * Flink is called by reflection so that this file compiles without Flink: it sits beside the fake
 * JobManager's sources, which are compiled together against Curator alone, and one class then
 * serves every Flink version.
 *
 * Non-ASCII characters are escaped, so the output does not depend on the JVM's stdout encoding.
 * Flink's own log lines may also reach stdout; the marker tells the result apart.
 */
public final class FlinkConfDump {
    static final String MARKER = "FLINK_CONF_DUMP:";

    private FlinkConfDump() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: FlinkConfDump <conf dir>");
            System.exit(2);
        }
        Class<?> globalConfiguration =
                Class.forName("org.apache.flink.configuration.GlobalConfiguration");
        Method load = globalConfiguration.getMethod("loadConfiguration", String.class);
        Object configuration = load.invoke(null, args[0]);
        Object map = configuration.getClass().getMethod("toMap").invoke(configuration);
        if (!(map instanceof Map<?, ?> entries)) {
            throw new IllegalStateException("toMap() returned " + map);
        }
        Map<String, String> sorted = new TreeMap<>();
        for (Map.Entry<?, ?> entry : entries.entrySet()) {
            sorted.put(String.valueOf(entry.getKey()), String.valueOf(entry.getValue()));
        }
        StringBuilder json = new StringBuilder(MARKER).append('{');
        boolean first = true;
        for (Map.Entry<String, String> entry : sorted.entrySet()) {
            if (!first) json.append(',');
            first = false;
            appendString(json, entry.getKey());
            json.append(':');
            appendString(json, entry.getValue());
        }
        json.append('}');
        System.out.println(json);
        System.out.flush();
    }

    private static void appendString(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }
}
