package io.vmpower.webhook.http;

import jakarta.servlet.ServletException;
import java.io.IOException;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.ActionCode;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * After a request whose body was given up on (too slow), tells Tomcat not to read the rest and to
 * close the connection. Tomcat otherwise drains the remaining body before it answers the next
 * request on the connection, one read timeout per byte, so a trickling client would keep a thread
 * busy after all (RELIABILITY.md, finding 3).
 */
public final class AbandonedBodyValve extends ValveBase {
  /** Request attribute set by the endpoint when it stops reading a body. */
  public static final String ATTRIBUTE = AbandonedBodyValve.class.getName() + ".abandoned";

  public AbandonedBodyValve() {
    super(true);
  }

  @Override
  public void invoke(Request request, Response response) throws IOException, ServletException {
    getNext().invoke(request, response);
    if (request.getAttribute(ATTRIBUTE) != null) {
      request.getCoyoteRequest().action(ActionCode.DISABLE_SWALLOW_INPUT, null);
    }
  }

  /** Installs the valve on the admission server's context. */
  @Configuration(proxyBeanMethods = false)
  static class Installer {
    @Bean
    WebServerFactoryCustomizer<TomcatWebServerFactory> abandonedBodyValve() {
      return factory -> factory.addContextValves(new AbandonedBodyValve());
    }
  }
}
