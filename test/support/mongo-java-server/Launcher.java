import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Starts an in-memory MongoDB-compatible server on a loopback port and prints "PORT <n>".
 * It reports MongoDB 5.0 (wire version 13) because the Node driver refuses servers below wire version 9.
 * The server stops when stdin closes, so it never outlives the test process that started it.
 */
public class Launcher {
    public static void main(String[] args) throws Exception {
        MongoVersion version = new MongoVersion() {
            public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
            public String toVersionString() { return "5.0.0"; }
            public int getWireVersion() { return 13; }
        };
        MongoServer server = new MongoServer(new MemoryBackend().version(version));
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        System.out.println("PORT " + server.getLocalAddress().getPort());
        System.out.flush();
        while (System.in.read() != -1) {
            // drain until the parent closes our stdin
        }
        server.shutdownNow();
    }
}
