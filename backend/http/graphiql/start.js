// Starts GraphiQL against the endpoint this page was served from, so the
// page works unchanged behind a proxy that mounts Beacon under a prefix.
(function () {
  "use strict";
  var endpoint = new URL(window.location.pathname, window.location.href);
  var socket = new URL(endpoint.href);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  // The headers typed in the Headers tab go with every request and, for a
  // subscription, in the WebSocket's connection_init payload (browsers
  // cannot set headers on a WebSocket).
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: socket.href,
    enableIncrementalDelivery: false,
  });
  var defaultQuery = [
    "# Beacon's GraphQL API. Published content needs no credentials;",
    "# to see drafts, put your token in the Headers tab below:",
    '#   {"Authorization": "Bearer <token>"}',
    "# The Docs button (top left) lists every type and field.",
    "",
    "query Topics {",
    "  topics {",
    "    slug",
    "    name",
    "  }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      isHeadersEditorEnabled: true,
      // A bearer token is a secret: it stays in this tab, not in storage.
      shouldPersistHeaders: false,
    }),
  );
})();
