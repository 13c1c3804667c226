// test-dotenv.cpp: unit tests of the C++ .env parser and the precedence of settings (s3/dotenv.h).
#include <glib.h>
#include <glib/gstdio.h>

#include <map>
#include <string>
#include <vector>

#include "dotenv.h"
#include "s3-client.h"
#include "test-util.h"

namespace {

using Env = std::map<std::string, std::string>;

s3::Settings::Getenv fake_env(const Env &env) {
  auto copy = std::make_shared<Env>(env);
  return [copy](const char *name) -> const char * {
    auto it = copy->find(name);
    return it == copy->end() ? nullptr : it->second.c_str();
  };
}

std::string value_of(const s3::DotenvFile &f, const std::string &key) {
  const s3::DotenvEntry *e = f.find(key);
  return e ? e->value : std::string("<unset>");
}

void test_grammar() {
  const std::string text =
      "# a comment\n"
      "\n"
      "export S3_BUCKET=\"s3://my-bucket\"   # inline comment after quotes\n"
      "S3_ACCESS_KEY='AK # inside single quotes'\n"
      "S3_SECRET_KEY=abc#def\n"
      "   DOWNSCALE = 0.5   # spaces around = and an inline comment\n"
      "COLORMAP=\"vir\\\"idis\"\n"
      "VIDEO_PREFIX='2025/10/$HOME/'\n"
      "A=one #first # second\n"
      "B=\"x\\n\\t\\$\\\\\\q\"\n"
      "C=\"quoted\"#comment\n"
      "D=#only a comment\n"
      "E=\n"
      "export\tF=tab\n"
      "G = $(touch pwned) `id`\n"
      "ALPHA=0.25\r\n"
      "ALPHA=0.5\n"
      "S3_HEATMAPS_PREFIX=maps/";
  s3::DotenvFile f;
  std::vector<std::string> errors;
  g_assert_true(s3::parse_dotenv(text, "a.env", &f, &errors));
  g_assert_cmpuint(errors.size(), ==, 0);
  assert_str(value_of(f, "S3_BUCKET"), "s3://my-bucket");
  assert_str(value_of(f, "S3_ACCESS_KEY"), "AK # inside single quotes");
  assert_str(value_of(f, "S3_SECRET_KEY"), "abc#def");
  assert_str(value_of(f, "DOWNSCALE"), "0.5");
  assert_str(value_of(f, "COLORMAP"), "vir\"idis");
  assert_str(value_of(f, "VIDEO_PREFIX"), "2025/10/$HOME/");
  assert_str(value_of(f, "A"), "one");  // the first " #" starts the comment
  assert_str(value_of(f, "B"), "x\n\t$\\\\q");
  assert_str(value_of(f, "C"), "quoted");
  assert_str(value_of(f, "D"), "");
  assert_str(value_of(f, "E"), "");
  assert_str(value_of(f, "F"), "tab");
  assert_str(value_of(f, "G"), "$(touch pwned) `id`");
  assert_str(value_of(f, "ALPHA"), "0.5");  // the later line wins
  g_assert_cmpint(f.find("ALPHA")->line, ==, 17);
  assert_str(value_of(f, "S3_HEATMAPS_PREFIX"), "maps/");  // no final newline
  g_assert_cmpuint(f.entries.size(), ==, 16);
}

void test_errors_never_show_values() {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY";
  const std::string text = "S3_SECRET_KEY \"" + secret + "\"\n" +               // 1: no =
                           "S3_SECRET_KEY=\"" + secret + "\n" +                 // 2: unterminated
                           "S3_SECRET_KEY='" + secret + "'x" + secret + "\n" +  // 3: trailing
                           secret + "\n" +                                      // 4: a bare secret
                           "MY_OWN_NAME " + secret + "\n" +                     // 5: unknown name
                           "OK=1\n" +                                           // 6: fine
                           "9X=1\n";                                            // 7: bad key
  s3::DotenvFile f;
  std::vector<std::string> errors;
  g_assert_false(s3::parse_dotenv(text, "/etc/x.env", &f, &errors));
  g_assert_cmpuint(errors.size(), ==, 6);
  for (const auto &e : errors) {
    g_assert_true(e.find(secret.substr(5, 10)) == std::string::npos);
    g_assert_true(e.find("MY_OWN_NAME") == std::string::npos);
  }
  assert_str(errors[0],
             "config: /etc/x.env:1: S3_SECRET_KEY: expected KEY=value (the line is not shown: it "
             "may hold a secret)");
  assert_str(errors[1], "config: /etc/x.env:2: S3_SECRET_KEY: unterminated \" quote");
  assert_str(errors[2],
             "config: /etc/x.env:3: S3_SECRET_KEY: unexpected text after the closing quote (not "
             "shown)");
  assert_str(errors[3],
             "config: /etc/x.env:4: expected KEY=value (the line is not shown: it may hold a "
             "secret)");
  assert_str(value_of(f, "OK"), "1");  // good lines are kept
  // a name the caller knows is named
  errors.clear();
  g_assert_false(s3::parse_dotenv("MY_OWN_NAME oops\n", "y.env", &f, &errors, {"MY_OWN_NAME"}));
  g_assert_true(errors.at(0).find("y.env:1: MY_OWN_NAME: expected") != std::string::npos);
  // NUL bytes
  errors.clear();
  g_assert_false(s3::parse_dotenv(std::string("A=1\0B=2\n", 8), "z.env", &f, &errors));
  assert_str(errors.at(0), "config: z.env: contains NUL bytes (not a text file)");
  // Settings::from_text throws with every line, still without the secret
  try {
    s3::Settings::from_text(text, "x.env", fake_env({}));
    g_assert_not_reached();
  } catch (const s3::Error &e) {
    g_assert_true(e.kind() == s3::ErrorKind::kInvalidArgument);
    const std::string what = e.what();
    g_assert_true(what.find(secret.substr(5, 10)) == std::string::npos);
    g_assert_true(what.find("x.env:7: expected KEY=value") != std::string::npos);
  }
}

void test_read_file() {
  gchar *dir = g_dir_make_tmp("test-dotenv-XXXXXX", nullptr);
  const std::string path = std::string(dir) + "/.env";
  g_assert_true(g_file_set_contents(path.c_str(), "S3_REGION=eu-west-1\n", -1, nullptr));
  s3::Settings s = s3::Settings::load(path, fake_env({}));
  assert_str(s.get("S3_REGION", "x"), "eu-west-1");
  assert_str(s.origin("S3_REGION"), path + ":1 (S3_REGION)");
  const std::string empty = std::string(dir) + "/empty.env";
  g_assert_true(g_file_set_contents(empty.c_str(), "", 0, nullptr));
  g_assert_false(s3::Settings::load(empty, fake_env({})).get("S3_REGION").has_value());
  for (const std::string &bad : {std::string(dir) + "/missing.env", std::string(dir)}) {
    try {
      s3::Settings::load(bad, fake_env({}));
      g_assert_not_reached();
    } catch (const s3::Error &e) {
      assert_str(e.what(), "config: cannot read env file: " + bad);
    }
  }
  g_remove(path.c_str());
  g_remove(empty.c_str());
  g_rmdir(dir);
  g_free(dir);
}

// The one precedence rule (docs/configuration.md): flags > environment > file > default; an
// empty environment variable still wins; AWS_* names count as their S3_* name in each source.
void test_precedence() {
  const std::string file =
      "DOWNSCALE=0.5\nS3_REGION=file-s3\nAWS_SECRET_ACCESS_KEY=file-aws\n"
      "S3_ENDPOINT=http://file:1\nMAX_VIDEOS_PER_RUN=7\nAWS_REGION=file-aws-region\n";
  s3::Settings s = s3::Settings::from_text(
      file, ".env", fake_env({{"DOWNSCALE", "0.125"}, {"AWS_DEFAULT_REGION", "env-default"}}));
  assert_str(s.get("DOWNSCALE", ""), "0.125");        // environment beats file
  assert_str(s.get("MAX_VIDEOS_PER_RUN", ""), "7");   // file beats default
  assert_str(s.get("JOBS", "dflt"), "dflt");          // default
  assert_str(s.get("S3_REGION", ""), "env-default");  // AWS_* in env beats S3_* in file
  assert_str(s.origin("S3_REGION"), "environment (AWS_DEFAULT_REGION)");
  assert_str(s.get("AWS_REGION", ""), "env-default");  // an alias asks for its group
  assert_str(s.get("S3_SECRET_KEY", ""), "file-aws");  // AWS_* name in the file
  s.set_flag("DOWNSCALE", "0.75");
  assert_str(s.get("DOWNSCALE", ""), "0.75");  // flag beats environment
  assert_str(s.origin("DOWNSCALE"), "command line");
  s.set_flag("AWS_REGION", "flag-region");  // a flag for an alias sets the group
  assert_str(s.get("S3_REGION", ""), "flag-region");

  // inside one source: the S3_* name, then the aliases in order
  s3::Settings t = s3::Settings::from_text("", "",
                                           fake_env({{"AWS_REGION", "r1"},
                                                     {"AWS_DEFAULT_REGION", "r2"},
                                                     {"AWS_ENDPOINT_URL", "http://all"},
                                                     {"AWS_ENDPOINT_URL_S3", "http://s3"}}));
  assert_str(t.get("S3_REGION", ""), "r1");
  assert_str(t.get("S3_ENDPOINT", ""), "http://s3");
  s3::Settings u = s3::Settings::from_text("S3_REGION=s\nAWS_REGION=a\n", "f", fake_env({}));
  assert_str(u.get("S3_REGION", ""), "s");
  // an empty variable in the environment still wins over the file
  s3::Settings v = s3::Settings::from_text("S3_REGION=file\n", "f", fake_env({{"S3_REGION", ""}}));
  assert_str(v.get("S3_REGION", "dflt"), "");
  g_assert_true(v.get("S3_REGION").has_value());
}

// s3::Config sees the .env file through Settings::getenv(), with the same precedence.
void test_config_through_settings() {
  s3::Settings s = s3::Settings::from_text(
      "S3_ENDPOINT=http://127.0.0.1:7480\nS3_ACCESS_KEY=ak\nS3_SECRET_KEY=sk\n"
      "S3_REGION=file-region\nS3_VERIFY_TLS=false\n",
      ".env", fake_env({{"AWS_REGION", "env-region"}, {"AWS_ACCESS_KEY_ID", "env-ak"}}));
  s3::Config c = s3::Config::from_environment(s.getenv());
  assert_str(c.endpoint, "http://127.0.0.1:7480");
  assert_str(c.region, "env-region");
  assert_str(c.access_key, "env-ak");
  assert_str(c.secret_key, "sk");
  g_assert_false(c.verify_tls);
  // pointers handed out stay valid while the function lives
  auto fn = s.getenv();
  const char *p = fn("S3_SECRET_KEY");
  fn("S3_ACCESS_KEY");
  fn("S3_REGION");
  assert_str(p, "sk");
  g_assert_null(fn("NOT_SET_ANYWHERE"));
}

void test_unknown_keys() {
  s3::Settings s =
      s3::Settings::from_text("S3_BUCKET=x\nAWS_REGION=y\nTYPO_KEY=z\n", "w.env", fake_env({}));
  std::vector<std::string> w = s.unknown_key_warnings({"S3_BUCKET", "S3_REGION"});
  g_assert_cmpuint(w.size(), ==, 1);
  assert_str(w[0], "config: warning: w.env:3: unknown setting TYPO_KEY (ignored)");
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/dotenv/grammar", test_grammar);
  g_test_add_func("/dotenv/errors-never-show-values", test_errors_never_show_values);
  g_test_add_func("/dotenv/read-file", test_read_file);
  g_test_add_func("/dotenv/precedence", test_precedence);
  g_test_add_func("/dotenv/config-through-settings", test_config_through_settings);
  g_test_add_func("/dotenv/unknown-keys", test_unknown_keys);
  return g_test_run();
}
