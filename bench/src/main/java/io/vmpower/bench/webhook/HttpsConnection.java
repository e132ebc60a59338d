package io.vmpower.bench.webhook;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * One keep-alive HTTP/1.1 connection over TLS, as the API server holds to a webhook: verifies the
 * serving certificate against the CA and the host name, TCP_NODELAY, requests pre-encoded, the
 * response read by Content-Length (or chunked) and dropped. Deliberately minimal, so the client
 * costs as little of the shared CPU as possible. Reconnects (a new TLS handshake) when the server
 * closes the connection; the handshake counts in that request's latency, as it would for the API
 * server.
 */
final class HttpsConnection implements AutoCloseable {
  private final SSLContext context;
  private final int port;
  private SSLSocket socket;
  private OutputStream out;
  private InputStream in;
  private int handshakes;
  private final byte[] line = new byte[8192];
  private final byte[] sink = new byte[65536];

  HttpsConnection(SSLContext context, int port) {
    this.context = context;
    this.port = port;
  }

  static SSLContext trusting(Path caFile) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream ca = Files.newInputStream(caFile)) {
      int i = 0;
      for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(ca)) {
        trust.setCertificateEntry("ca-" + i++, (X509Certificate) cert);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  /** Request bytes for one POST: headers as the API server sends them, then the body. */
  static byte[] request(String path, int port, byte[] body) {
    String head =
        "POST "
            + path
            + "?timeout=10s HTTP/1.1\r\n"
            + "Host: localhost:"
            + port
            + "\r\n"
            + "User-Agent: kube-apiserver-admission\r\n"
            + "Content-Length: "
            + body.length
            + "\r\n"
            + "Accept: application/json, */*\r\n"
            + "Content-Type: application/json\r\n"
            + "Accept-Encoding: gzip\r\n"
            + "\r\n";
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[h.length + body.length];
    System.arraycopy(h, 0, all, 0, h.length);
    System.arraycopy(body, 0, all, h.length, body.length);
    return all;
  }

  int handshakes() {
    return handshakes;
  }

  /** Sends one request and reads the whole response; returns the HTTP status. */
  int exchange(byte[] request) throws IOException {
    if (socket == null) {
      connect();
    }
    try {
      return send(request);
    } catch (IOException e) {
      // The server closed an idle or used-up connection between our requests: retry once.
      close();
      connect();
      return send(request);
    }
  }

  private int send(byte[] request) throws IOException {
    out.write(request);
    out.flush();
    String status = readLine();
    if (status == null) {
      throw new EOFException("connection closed");
    }
    int code = Integer.parseInt(status.substring(9, 12));
    long length = -1;
    boolean chunked = false;
    boolean closing = false;
    String header;
    while ((header = readLine()) != null && !header.isEmpty()) {
      int colon = header.indexOf(':');
      String name = header.substring(0, colon).trim();
      String value = header.substring(colon + 1).trim();
      if (name.equalsIgnoreCase("Content-Length")) {
        length = Long.parseLong(value);
      } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
        chunked = value.equalsIgnoreCase("chunked");
      } else if (name.equalsIgnoreCase("Connection")) {
        closing = value.equalsIgnoreCase("close");
      }
    }
    if (chunked) {
      long size;
      while ((size = Long.parseLong(readLine().trim(), 16)) > 0) {
        skip(size);
        readLine();
      }
      readLine();
    } else if (length > 0) {
      skip(length);
    }
    if (closing) {
      close();
    }
    return code;
  }

  private void connect() throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket();
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(30_000);
    SSLParameters parameters = s.getSSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    parameters.setServerNames(java.util.List.of(new javax.net.ssl.SNIHostName("localhost")));
    s.setSSLParameters(parameters);
    s.startHandshake();
    handshakes++;
    socket = s;
    out = s.getOutputStream();
    in = new BufferedInputStream(s.getInputStream(), 65536);
  }

  private void skip(long n) throws IOException {
    while (n > 0) {
      int r = in.read(sink, 0, (int) Math.min(sink.length, n));
      if (r < 0) {
        throw new EOFException("response body cut short");
      }
      n -= r;
    }
  }

  private String readLine() throws IOException {
    int n = 0;
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        int end = n > 0 && line[n - 1] == '\r' ? n - 1 : n;
        return new String(line, 0, end, StandardCharsets.US_ASCII);
      }
      if (n < line.length) {
        line[n++] = (byte) b;
      }
    }
    return n == 0 ? null : new String(line, 0, n, StandardCharsets.US_ASCII);
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException e) {
        // closing anyway
      }
      socket = null;
    }
  }
}
