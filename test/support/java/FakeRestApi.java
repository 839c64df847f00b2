import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The slice of Flink's REST API a sidecar looks at, on 127.0.0.1. In mode "auto" it behaves like
 * Flink's LeaderRetrievalHandler: every endpoint answers the election 503 while this JobManager
 * knows no leader. The other modes script failures a health check must survive.
 */
final class FakeRestApi {

    /** What the server answers; switched at run time by the "rest" command. */
    enum Mode {
        AUTO("auto"),
        OK("ok"),
        ELECTION("election"),
        SERVER_ERROR("500"),
        HTML("html"),
        HANG("hang"),
        SLOW("slow"),
        REDIRECT("redirect"),
        HUGE("huge");

        final String label;

        Mode(String label) {
            this.label = label;
        }

        static Mode parse(String label) {
            for (Mode mode : values()) {
                if (mode.label.equals(label)) {
                    return mode;
                }
            }
            throw new IllegalArgumentException(
                    "unknown rest mode " + label + " (auto, ok, election, 500, html, hang, slow <ms>, redirect [url], huge)");
        }
    }

    /** What the JobManager's own leader retrieval currently knows. */
    interface LeaderView {
        boolean isLeaderKnown();

        /** The published rest_server address, or null when unknown or undecodable. */
        String leaderAddress();
    }

    private static final String JSON = "application/json; charset=UTF-8";
    private static final String ELECTION_BODY =
            "{\"errors\":[\"Service temporarily unavailable due to an ongoing leader election. Please refresh.\"]}";
    private static final String SERVER_ERROR_BODY = "{\"errors\":[\"Internal server error.\"]}";
    private static final String CONFIG_BODY =
            "{\"refresh-interval\":3000,\"timezone-name\":\"UTC\",\"timezone-offset\":0,"
                    + "\"flink-version\":\"1.20.0\",\"flink-revision\":\"test\","
                    + "\"features\":{\"web-submit\":false,\"web-cancel\":false,\"web-rescale\":false,\"web-history\":false}}";
    private static final String OVERVIEW_BODY =
            "{\"taskmanagers\":0,\"slots-total\":0,\"slots-available\":0,\"jobs-running\":0,"
                    + "\"jobs-finished\":0,\"jobs-cancelled\":0,\"jobs-failed\":0,"
                    + "\"flink-version\":\"1.20.0\",\"flink-commit\":\"test\"}";
    private static final String HTML_BODY =
            "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
                    + "<body><h1>Bad Gateway</h1><p>Not a Flink REST API.</p></body></html>\n";
    private static final int HUGE_BYTES = 8 * 1024 * 1024;

    private final HttpServer server;
    private final LeaderView leaderView;
    private final ExecutorService handlers =
            Executors.newCachedThreadPool(daemonThreads("rest-handler"));
    private final ScheduledExecutorService delays =
            Executors.newSingleThreadScheduledExecutor(daemonThreads("rest-delay"));
    /** Exchanges held open by "hang"; referenced so they stay open until the server stops. */
    private final List<HttpExchange> hung = new ArrayList<>();

    private volatile Mode mode = Mode.AUTO;
    private volatile String modeArgument;
    private volatile String publishedAddress = "";
    private byte[] hugeBody;

    FakeRestApi(int port, LeaderView leaderView) throws IOException {
        this.leaderView = leaderView;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.setExecutor(handlers);
        server.createContext("/", this::handle);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** The address this JobManager publishes; /jobmanager/config reports its host and port. */
    void setPublishedAddress(String address) {
        publishedAddress = address;
    }

    /** Applies a "rest <mode> [arg]" command; throws IllegalArgumentException on a bad one. */
    void setMode(String label, String argument) {
        Mode next = Mode.parse(label);
        if (next == Mode.SLOW) {
            if (argument == null) {
                throw new IllegalArgumentException("rest slow needs a delay in ms");
            }
            Long.parseLong(argument);
        }
        modeArgument = argument;
        mode = next;
    }

    void stop() {
        server.stop(0);
        handlers.shutdownNow();
        delays.shutdownNow();
    }

    private void handle(HttpExchange exchange) {
        Mode current = mode;
        String argument = modeArgument;
        try {
            if (current == Mode.HANG) {
                synchronized (hung) {
                    hung.add(exchange);
                }
                return;
            }
            String path = exchange.getRequestURI().getPath();
            String okBody = endpointBody(path);
            if (okBody == null) {
                sendJson(exchange, 404, "{\"errors\":[\"Not found: " + jsonEscape(path) + "\"]}");
                return;
            }
            switch (current) {
                case OK:
                    sendJson(exchange, 200, okBody);
                    break;
                case ELECTION:
                    sendJson(exchange, 503, ELECTION_BODY);
                    break;
                case SERVER_ERROR:
                    sendJson(exchange, 500, SERVER_ERROR_BODY);
                    break;
                case HTML:
                    send(exchange, 200, "text/html; charset=UTF-8", HTML_BODY.getBytes(StandardCharsets.UTF_8));
                    break;
                case SLOW:
                    delays.schedule(() -> answerAuto(exchange, okBody), Long.parseLong(argument), TimeUnit.MILLISECONDS);
                    break;
                case REDIRECT:
                    exchange.getResponseHeaders().set("Location", redirectTarget(argument, exchange.getRequestURI()));
                    send(exchange, 307, JSON, new byte[0]);
                    break;
                case HUGE:
                    send(exchange, 200, JSON, hugeBody());
                    break;
                case AUTO:
                default:
                    answerAuto(exchange, okBody);
            }
        } catch (RuntimeException e) {
            System.err.println("REST handler failed: " + e);
            exchange.close();
        }
    }

    private void answerAuto(HttpExchange exchange, String okBody) {
        if (leaderView.isLeaderKnown()) {
            sendJson(exchange, 200, okBody);
        } else {
            sendJson(exchange, 503, ELECTION_BODY);
        }
    }

    /** The 200 body of a known endpoint, or null for a path Flink's router would not match. */
    private String endpointBody(String path) {
        switch (path) {
            case "/config":
                return CONFIG_BODY;
            case "/overview":
                return OVERVIEW_BODY;
            case "/jobmanager/config":
                return jobManagerConfigBody();
            default:
                return null;
        }
    }

    private String jobManagerConfigBody() {
        String host = "";
        String port = "";
        try {
            URI uri = URI.create(publishedAddress);
            host = uri.getHost() == null ? "" : uri.getHost().replaceAll("^\\[|\\]$", "");
            int explicitPort = uri.getPort();
            port = String.valueOf(explicitPort >= 0 ? explicitPort : "https".equals(uri.getScheme()) ? 443 : 80);
        } catch (IllegalArgumentException unparsable) {
            // report empty values, as a misconfigured JobManager would
        }
        return "[{\"key\":\"rest.address\",\"value\":\"" + jsonEscape(host) + "\"},"
                + "{\"key\":\"rest.port\",\"value\":\"" + jsonEscape(port) + "\"}]";
    }

    /** Flink 1.5-1.7 standbys redirected to the leader; without a known leader, to a closed port. */
    private String redirectTarget(String argument, URI requestUri) {
        if (argument != null) {
            return argument;
        }
        String leader = leaderView.leaderAddress();
        String base = leader != null && !leader.isEmpty() ? leader : "http://127.0.0.1:9";
        return base + requestUri.getRawPath();
    }

    private synchronized byte[] hugeBody() {
        if (hugeBody == null) {
            String prefix = "{\"padding\":\"";
            String suffix = "\"}";
            byte[] body = new byte[HUGE_BYTES];
            Arrays.fill(body, (byte) 'x');
            System.arraycopy(prefix.getBytes(StandardCharsets.US_ASCII), 0, body, 0, prefix.length());
            System.arraycopy(
                    suffix.getBytes(StandardCharsets.US_ASCII), 0, body, HUGE_BYTES - suffix.length(), suffix.length());
            hugeBody = body;
        }
        return hugeBody;
    }

    private static void sendJson(HttpExchange exchange, int status, String body) {
        send(exchange, status, JSON, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] body) {
        try (OutputStream out = exchange.getResponseBody()) {
            exchange.getResponseHeaders().set("Content-Type", contentType);
            boolean noBody = body.length == 0 || "HEAD".equals(exchange.getRequestMethod().toUpperCase(Locale.ROOT));
            exchange.sendResponseHeaders(status, noBody ? -1 : body.length);
            if (!noBody) {
                out.write(body);
            }
        } catch (IOException clientWentAway) {
            // a client that gave up (timeouts are part of the tests) is not an error here
        } finally {
            exchange.close();
        }
    }

    static String jsonEscape(String value) {
        StringBuilder escaped = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '"' || c == '\\') {
                escaped.append('\\').append(c);
            } else if (c < 0x20) {
                escaped.append(String.format("\\u%04x", (int) c));
            } else {
                escaped.append(c);
            }
        }
        return escaped.toString();
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
