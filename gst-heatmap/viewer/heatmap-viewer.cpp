// heatmap-viewer.cpp: a small HTTP server (libsoup 3) for browsing a bucket's heatmaps: the page,
// a JSON API from listings, and heatmap objects streamed from the bucket (signed server-side).
#include <glib-unix.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dotenv.h"
#include "s3-client.h"
#include "rollup.h"
#include "viewer-catalog.h"
#include "viewer-compare.h"
#include "viewer-paths.h"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;
// Larger objects are not heatmaps; refusing them keeps the viewer from being a download proxy.
constexpr std::uint64_t kMaxObjectBytes = 64ull << 20;
constexpr int kDefaultCacheSeconds = 30;
constexpr int kWorkerThreads = 4;

const char kHelp[] =
    "Usage: heatmap-viewer [--listen HOST:PORT] [--env-file FILE] [--static-dir DIR]\n"
    "\n"
    "Serves a web page for browsing the heatmaps of S3_BUCKET (s3:// or a local folder): a\n"
    "calendar of days with footage, day, week and month maps, clip maps with their statistics,\n"
    "zone activity charts and period comparisons. Objects are read server-side and only under\n"
    "S3_HEATMAPS_PREFIX; the browser never sees credentials. Works without internet access.\n"
    "\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080). Any address that is\n"
    "                      not loopback requires VIEWER_TOKEN.\n"
    "  --env-file FILE     settings file (KEY=value lines, as for heatmap-batch; default ./.env\n"
    "                      when present). The process environment wins over the file.\n"
    "  --static-dir DIR    the page's files (default: the installed copy, else the source tree)\n"
    "\n"
    "Settings (environment or .env): S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY,\n"
    "S3_SECRET_KEY, S3_SESSION_TOKEN, S3_VIDEOS_PREFIX (never served), S3_HEATMAPS_PREFIX,\n"
    "VIEWER_TOKEN (bearer token, or the password of HTTP basic auth with any user name),\n"
    "VIEWER_CACHE_SECONDS (listing cache, default 30).\n"
    "Logs: one line per request on stdout (no query strings, no credentials).\n";

struct App {
  std::unique_ptr<s3::Bucket> bucket;
  s3::Config config;
  viewer::Layout layout;
  std::string token;
  std::string static_dir;
  int cache_seconds = kDefaultCacheSeconds;
  GThreadPool *pool = nullptr;
  std::mutex cache_mutex;
  std::map<std::string, std::pair<gint64, std::string>> cache;  // api path -> (expiry, json)
};

// State of one paused request, shared by the main loop and a worker thread.
struct Pending {
  App *app = nullptr;
  SoupServerMessage *msg = nullptr;  // a reference is held until the worker is done
  std::string path;                  // decoded route path
  std::atomic<bool> alive{true};     // false once the client went away or the reply finished
  bool head_only = false;
  std::string compare_a, compare_b;  // /api/compare?a=&b= (decoded by libsoup)
};

void log_line(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_line(const char *fmt, ...) {
  GDateTime *now = g_date_time_new_now_utc();
  gchar *stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
  va_list ap;
  va_start(ap, fmt);
  gchar *text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  std::printf("%s heatmap-viewer: %s\n", stamp, text);
  std::fflush(stdout);
  g_free(text);
  g_free(stamp);
  g_date_time_unref(now);
}

void set_common_headers(SoupServerMessage *msg) {
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace(h, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace(h, "Content-Security-Policy",
                               "default-src 'self'; img-src 'self' data: blob:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'");
}

void reply_text(SoupServerMessage *msg, guint status, const std::string &text) {
  set_common_headers(msg);
  soup_server_message_set_status(msg, status, nullptr);
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text.data(),
                                   text.size());
}

void reply_json(SoupServerMessage *msg, const std::string &json) {
  set_common_headers(msg);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control",
                               "no-store");
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json.data(),
                                   json.size());
}

// Runs fn on the main loop while the request is still wanted.
// Runs fn on the main loop (in call order) while the request is still wanted, or always.
void on_main(std::shared_ptr<Pending> p, std::function<void(Pending &)> fn, bool always = false) {
  struct Call {
    std::shared_ptr<Pending> p;
    std::function<void(Pending &)> fn;
    bool always;
  };
  g_main_context_invoke_full(
      nullptr, G_PRIORITY_DEFAULT,
      [](gpointer data) -> gboolean {
        auto *call = static_cast<Call *>(data);
        if (call->always || call->p->alive)
          call->fn(*call->p);
        return G_SOURCE_REMOVE;
      },
      new Call{std::move(p), std::move(fn), always},
      [](gpointer data) { delete static_cast<Call *>(data); });
}

// The worker is done: let the server send what is queued (libsoup pauses the message by itself
// while a body is incomplete), and drop the worker's reference on the message.
void finish(std::shared_ptr<Pending> p) {
  on_main(
      p,
      [](Pending &pending) {
        if (pending.alive)
          soup_server_message_unpause(pending.msg);
        pending.alive = false;
        g_object_unref(pending.msg);
      },
      true);
}

std::string cached_json(App &app, const std::string &route,
                        const std::function<std::string()> &make) {
  gint64 now = g_get_monotonic_time();
  {
    std::lock_guard<std::mutex> lock(app.cache_mutex);
    auto it = app.cache.find(route);
    if (it != app.cache.end() && it->second.first > now)
      return it->second.second;
  }
  std::string json = make();
  std::lock_guard<std::mutex> lock(app.cache_mutex);
  if (app.cache.size() > 512)
    app.cache.clear();
  app.cache[route] = {now + static_cast<gint64>(app.cache_seconds) * G_USEC_PER_SEC, json};
  return json;
}

guint status_for(const s3::Error &e) {
  switch (e.kind()) {
    case s3::ErrorKind::kNotFound:
    case s3::ErrorKind::kInvalidArgument:
      return SOUP_STATUS_NOT_FOUND;
    case s3::ErrorKind::kTimeout:
      return SOUP_STATUS_GATEWAY_TIMEOUT;
    default:
      return SOUP_STATUS_BAD_GATEWAY;
  }
}

// Worker: an API call.
void serve_api(const std::shared_ptr<Pending> &p) {
  App &app = *p->app;
  const std::string route = p->path.substr(std::strlen("/api/"));
  std::string json;
  guint status = SOUP_STATUS_OK;
  std::string error;
  try {
    int y = 0, m = 0, d = 0;
    if (route == "months") {
      json = cached_json(app, route, [&] { return viewer::months_json(*app.bucket, app.layout); });
    } else if (route.rfind("month/", 0) == 0 && viewer::parse_month_id(route.substr(6), &y, &m)) {
      json = cached_json(app, route,
                         [&] { return viewer::month_json(*app.bucket, app.layout, y, m); });
    } else if (route.rfind("day/", 0) == 0 && viewer::parse_day_id(route.substr(4), &y, &m, &d)) {
      json = cached_json(app, route,
                         [&] { return viewer::day_json(*app.bucket, app.layout, y, m, d); });
    } else if (route == "compare") {
      json = viewer::compare_json(*app.bucket, app.config, app.layout, p->compare_a, p->compare_b);
    } else {
      status = SOUP_STATUS_NOT_FOUND;
      error = "not found";
    }
  } catch (const viewer::NoSuchPeriod &e) {
    status = SOUP_STATUS_NOT_FOUND;
    error = e.what();
  } catch (const heatmap::aggregate::InputError &e) {
    status = SOUP_STATUS_UNPROCESSABLE_ENTITY;
    error = std::string("these periods cannot be compared: ") + e.what();
    log_line("error: %s", error.c_str());
  } catch (const s3::Error &e) {
    status = status_for(e);
    if (status == SOUP_STATUS_NOT_FOUND)
      status = SOUP_STATUS_BAD_GATEWAY;
    error = std::string("the bucket could not be listed: ") + e.what();
    log_line("error: %s", error.c_str());
  }
  on_main(p, [status, json, error](Pending &pending) {
    if (status == SOUP_STATUS_OK)
      reply_json(pending.msg, json);
    else
      reply_text(pending.msg, status, error + "\n");
  });
  finish(p);
}

// Worker: one object, streamed chunk by chunk into the reply.
void serve_object(const std::shared_ptr<Pending> &p, const std::string &key) {
  App &app = *p->app;
  s3::ObjectInfo info;
  try {
    info = app.bucket->head(key);
  } catch (const s3::Error &e) {
    guint status = status_for(e);
    if (status != SOUP_STATUS_NOT_FOUND)
      log_line("error: %s", e.what());
    on_main(p, [status](Pending &pending) {
      reply_text(pending.msg, status,
                 status == SOUP_STATUS_NOT_FOUND ? "not found\n" : "the bucket failed\n");
    });
    finish(p);
    return;
  }
  if (info.size > kMaxObjectBytes) {
    on_main(
        p, [](Pending &pending) { reply_text(pending.msg, SOUP_STATUS_NOT_FOUND, "not found\n"); });
    finish(p);
    return;
  }
  const char *type = viewer::content_type_for(key);
  const bool head_only = p->head_only;
  on_main(p, [info, type](Pending &pending) {
    set_common_headers(pending.msg);
    SoupMessageHeaders *h = soup_server_message_get_response_headers(pending.msg);
    soup_message_headers_set_content_type(h, type, nullptr);
    soup_message_headers_set_content_length(h, static_cast<goffset>(info.size));
    soup_message_headers_replace(h, "Cache-Control", "private, max-age=60");
    if (!info.etag.empty())
      soup_message_headers_replace(h, "ETag", ("\"" + info.etag + "\"").c_str());
    soup_server_message_set_status(pending.msg, SOUP_STATUS_OK, nullptr);
    soup_server_message_unpause(pending.msg);
  });
  if (!head_only && info.size > 0) {
    try {
      app.bucket->get(key, 0, static_cast<std::int64_t>(info.size),
                      [&](const char *data, std::size_t n) {
                        if (!p->alive)
                          throw s3::Error(s3::ErrorKind::kCancelled, "client went away");
                        std::shared_ptr<GBytes> bytes(g_bytes_new(data, n), g_bytes_unref);
                        on_main(p, [bytes](Pending &pending) {
                          soup_message_body_append_bytes(
                              soup_server_message_get_response_body(pending.msg), bytes.get());
                          soup_server_message_unpause(pending.msg);
                        });
                      });
    } catch (const s3::Error &e) {
      // The status line is gone already; the short body (against Content-Length) tells the client.
      if (e.kind() != s3::ErrorKind::kCancelled)
        log_line("error: reading a heatmap object failed mid-way: %s", e.what());
    }
  }
  on_main(p, [](Pending &pending) {
    soup_message_body_complete(soup_server_message_get_response_body(pending.msg));
  });
  finish(p);
}

void worker(gpointer data, gpointer) {
  std::shared_ptr<Pending> p(*static_cast<std::shared_ptr<Pending> *>(data));
  delete static_cast<std::shared_ptr<Pending> *>(data);
  if (p->path.rfind("/api/", 0) == 0) {
    serve_api(p);
  } else {
    std::optional<std::string> key =
        viewer::object_key_for(p->app->layout, p->path.substr(std::strlen("/file/")));
    serve_object(p, *key);
  }
}

std::string read_file(const std::string &path, bool *ok) {
  gchar *contents = nullptr;
  gsize len = 0;
  *ok = g_file_get_contents(path.c_str(), &contents, &len, nullptr);
  std::string out = *ok ? std::string(contents, len) : std::string();
  g_free(contents);
  return out;
}

void serve_static(App &app, SoupServerMessage *msg, const std::string &name) {
  std::optional<std::string> rel = viewer::static_name_for(name);
  bool ok = false;
  std::string body;
  if (rel) {
    std::string path = app.static_dir + "/" + *rel;
    // No symlinks out of the folder: the resolved path must stay inside it.
    gchar *real = realpath(path.c_str(), nullptr);
    gchar *root = realpath(app.static_dir.c_str(), nullptr);
    if (real && root && g_str_has_prefix(real, root) && real[std::strlen(root)] == '/' &&
        g_file_test(real, G_FILE_TEST_IS_REGULAR))
      body = read_file(real, &ok);
    free(real);
    free(root);
  }
  if (!ok) {
    reply_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
    return;
  }
  set_common_headers(msg);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control",
                               "no-cache");
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_server_message_set_response(msg, viewer::content_type_for(*rel), SOUP_MEMORY_COPY,
                                   body.data(), body.size());
}

void handle(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer data) {
  App &app = *static_cast<App *>(data);
  auto *t0 = g_new(gint64, 1);
  *t0 = g_get_monotonic_time();
  g_object_set_data_full(G_OBJECT(msg), "t0us", t0, g_free);
  const char *method = soup_server_message_get_method(msg);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    reply_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    return;
  }
  if (!app.token.empty()) {
    const char *auth =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
    if (!viewer::authorized(auth ? auth : "", app.token)) {
      soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                                   "WWW-Authenticate", "Basic realm=\"heatmap-viewer\"");
      reply_text(msg, SOUP_STATUS_UNAUTHORIZED, "a valid VIEWER_TOKEN is required\n");
      return;
    }
  }
  // The raw (still percent-encoded) path: decoding is the route's job, exactly once.
  const char *raw = g_uri_get_path(soup_server_message_get_uri(msg));
  std::string route = raw ? raw : path;
  if (route == "/" || route == "/index.html") {
    serve_static(app, msg, "index.html");
    return;
  }
  if (route.rfind("/static/", 0) == 0) {
    serve_static(app, msg, route.substr(std::strlen("/static/")));
    return;
  }
  const bool is_api = route.rfind("/api/", 0) == 0;
  const bool is_file = route.rfind("/file/", 0) == 0 &&
                       viewer::object_key_for(app.layout, route.substr(std::strlen("/file/")));
  if (!is_api && !is_file) {
    reply_text(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
    return;
  }
  auto p = std::make_shared<Pending>();
  p->app = &app;
  p->msg = msg;
  p->path = route;
  p->head_only = method == SOUP_METHOD_HEAD;
  if (query) {
    auto *qa = static_cast<const char *>(g_hash_table_lookup(query, "a"));
    auto *qb = static_cast<const char *>(g_hash_table_lookup(query, "b"));
    p->compare_a = qa ? qa : "";
    p->compare_b = qb ? qb : "";
  }
  g_object_ref(msg);
  // The client may leave before the worker is done: stop touching the message then.
  auto *weak = new std::weak_ptr<Pending>(p);
  g_signal_connect_data(
      msg, "finished", G_CALLBACK(+[](SoupServerMessage *, gpointer d) {
        if (auto sp = static_cast<std::weak_ptr<Pending> *>(d)->lock())
          sp->alive = false;
      }),
      weak, [](gpointer d, GClosure *) { delete static_cast<std::weak_ptr<Pending> *>(d); },
      GConnectFlags(0));
  soup_server_message_pause(msg);
  g_thread_pool_push(app.pool, new std::shared_ptr<Pending>(p), nullptr);
}

void log_request(SoupServer *, SoupServerMessage *msg, gpointer) {
  auto *t0 = static_cast<gint64 *>(g_object_get_data(G_OBJECT(msg), "t0us"));
  double ms = t0 ? (g_get_monotonic_time() - *t0) / 1000.0 : 0.0;
  const char *raw = g_uri_get_path(soup_server_message_get_uri(msg));
  gchar *safe = g_strescape(raw ? raw : "", nullptr);  // control bytes never reach the log raw
  const char *remote = soup_server_message_get_remote_host(msg);
  log_line("%s %s %s %u %.1f ms", remote ? remote : "-", soup_server_message_get_method(msg), safe,
           soup_server_message_get_status(msg), ms);
  g_free(safe);
}

std::string with_slash(std::string prefix) {
  if (!prefix.empty() && prefix.back() != '/')
    prefix += '/';
  return prefix;
}

std::string default_static_dir() {
  const char *candidates[] = {VIEWER_STATIC_INSTALL_DIR, VIEWER_STATIC_SOURCE_DIR};
  for (const char *dir : candidates) {
    std::string index = std::string(dir) + "/index.html";
    if (g_file_test(index.c_str(), G_FILE_TEST_IS_REGULAR))
      return dir;
  }
  return VIEWER_STATIC_SOURCE_DIR;
}

}  // namespace

int main(int argc, char **argv) {
  std::string listen_text = "127.0.0.1:8080", env_file, static_dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *name) -> std::string {
      std::string prefix = std::string(name) + "=";
      if (arg.rfind(prefix, 0) == 0)
        return arg.substr(prefix.size());
      if (i + 1 >= argc) {
        std::fprintf(stderr, "heatmap-viewer: %s needs a value\n", name);
        std::exit(kExitUsage);
      }
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "--listen" || arg.rfind("--listen=", 0) == 0) {
      listen_text = value("--listen");
    } else if (arg == "--env-file" || arg.rfind("--env-file=", 0) == 0) {
      env_file = value("--env-file");
    } else if (arg == "--static-dir" || arg.rfind("--static-dir=", 0) == 0) {
      static_dir = value("--static-dir");
    } else {
      std::fprintf(stderr, "heatmap-viewer: unknown option '%s' (see --help)\n", argv[i]);
      return kExitUsage;
    }
  }

  viewer::ListenAddress listen;
  std::string error;
  if (!viewer::parse_listen(listen_text, &listen, &error)) {
    std::fprintf(stderr, "heatmap-viewer: %s\n", error.c_str());
    return kExitUsage;
  }
  // flags > environment > .env > defaults, as for every tool of the project.
  s3::Settings settings;
  try {
    if (env_file.empty() && g_file_test(".env", G_FILE_TEST_IS_REGULAR))
      env_file = ".env";
    settings = s3::Settings::load(env_file);
  } catch (const s3::Error &e) {
    std::fprintf(stderr, "heatmap-viewer: %s\n", e.what());
    return kExitUsage;
  }
  auto env_or = [&](const char *name, const char *fallback) {
    std::string v = settings.get(name, fallback);
    return v.empty() ? std::string(fallback) : v;
  };
  App app;
  app.token = env_or("VIEWER_TOKEN", "");
  if (!viewer::is_loopback_host(listen.host) && app.token.empty()) {
    std::fprintf(stderr,
                 "heatmap-viewer: refusing to listen on %s without VIEWER_TOKEN: set a token "
                 "(bearer or basic-auth password) or listen on 127.0.0.1\n",
                 listen.host.c_str());
    return kExitUsage;
  }
  const std::string bucket_text = env_or("S3_BUCKET", "");
  if (bucket_text.empty()) {
    std::fprintf(stderr, "heatmap-viewer: S3_BUCKET is not set (s3://bucket or a folder)\n");
    return kExitUsage;
  }
  app.layout.heatmaps_prefix = with_slash(env_or("S3_HEATMAPS_PREFIX", "heatmaps/"));
  app.layout.videos_prefix = with_slash(env_or("S3_VIDEOS_PREFIX", "raw_videos/"));
  std::string cache = env_or("VIEWER_CACHE_SECONDS", "30");
  char *end = nullptr;
  long cache_seconds = std::strtol(cache.c_str(), &end, 10);
  if (cache.empty() || *end || cache_seconds < 0 || cache_seconds > 86400) {
    std::fprintf(stderr, "heatmap-viewer: VIEWER_CACHE_SECONDS must be 0-86400 seconds\n");
    return kExitUsage;
  }
  app.cache_seconds = static_cast<int>(cache_seconds);
  app.static_dir = static_dir;
  if (app.static_dir.empty())
    app.static_dir = default_static_dir();
  try {
    // One connection config (with the .env's endpoint and keys) for listings, objects and the
    // aggregate library's reads in compare: none of them may fall back to AWS defaults.
    app.config = s3::Config::from_environment(settings.getenv());
    app.bucket = s3::open_bucket(s3::Url::parse_bucket(bucket_text), app.config);
  } catch (const s3::Error &e) {
    std::fprintf(stderr, "heatmap-viewer: %s\n", e.what());
    return kExitUsage;
  }

  app.pool = g_thread_pool_new(worker, nullptr, kWorkerThreads, FALSE, nullptr);
  // raw-paths: routes see the path as sent and decode it once themselves (libsoup would answer
  // 400 to some encoded traversals and silently resolve others).
  SoupServer *server =
      soup_server_new("server-header", "heatmap-viewer", "raw-paths", TRUE, nullptr);
  soup_server_add_handler(server, nullptr, handle, &app, nullptr);
  g_signal_connect(server, "request-finished", G_CALLBACK(log_request), nullptr);
  g_signal_connect(server, "request-aborted", G_CALLBACK(log_request), nullptr);

  GError *gerror = nullptr;
  GInetAddress *inet = g_inet_address_new_from_string(
      listen.host == "localhost" ? "127.0.0.1" : listen.host.c_str());
  if (!inet) {
    std::fprintf(stderr, "heatmap-viewer: --listen: '%s' is not an IP address\n",
                 listen.host.c_str());
    return kExitUsage;
  }
  GSocketAddress *address = g_inet_socket_address_new(inet, static_cast<guint16>(listen.port));
  gboolean ok = soup_server_listen(server, address, SoupServerListenOptions(0), &gerror);
  g_object_unref(address);
  g_object_unref(inet);
  if (!ok) {
    std::fprintf(stderr, "heatmap-viewer: cannot listen on %s: %s\n", listen_text.c_str(),
                 gerror->message);
    g_error_free(gerror);
    return kExitFailure;
  }
  log_line("serving %s on http://%s:%d/ (static files: %s)", app.bucket->url().str().c_str(),
           listen.host.c_str(), listen.port, app.static_dir.c_str());

  GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
  auto quit = +[](gpointer l) -> gboolean {
    g_main_loop_quit(static_cast<GMainLoop *>(l));
    return G_SOURCE_REMOVE;
  };
  g_unix_signal_add(SIGINT, quit, loop);
  g_unix_signal_add(SIGTERM, quit, loop);
  g_main_loop_run(loop);
  log_line("stopping");
  soup_server_disconnect(server);
  g_thread_pool_free(app.pool, FALSE, TRUE);
  g_object_unref(server);
  g_main_loop_unref(loop);
  return 0;
}
