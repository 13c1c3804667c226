// test-s3-local.cpp: the file:// backend: every Bucket operation on a temporary folder.
#include <glib.h>
#include <glib/gstdio.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <cstring>
#include <string>
#include <vector>

#include "s3-client.h"
#include "s3-internal.h"
#include "test-util.h"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    gchar *p = g_dir_make_tmp("s3-local-XXXXXX", nullptr);
    g_assert_nonnull(p);
    path = p;
    g_free(p);
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    g_assert_cmpint(system(cmd.c_str()), ==, 0);
  }
};

std::unique_ptr<s3::Bucket> open_local(const std::string &dir) {
  return s3::open_bucket(s3::Url::parse_bucket("file://" + dir), s3::Config{});
}

template <typename F>
s3::ErrorKind error_of(F f) {
  try {
    f();
  } catch (const s3::Error &e) {
    return e.kind();
  }
  g_error("no error was thrown");
  return s3::ErrorKind::kIo;
}

void test_put_get_head() {
  TempDir dir;
  auto b = open_local(dir.path);
  std::string data;
  for (int i = 0; i < 700000; i++)
    data += static_cast<char>('a' + (i * 7) % 26);
  s3::PutOptions opts;
  opts.content_type = "video/mp4";
  s3::ObjectInfo put = b->put_data("clips/cam 1/a+b=c~%.mp4", data, opts);
  g_assert_cmpuint(put.size, ==, data.size());
  assert_str(put.etag, md5_hex(data));
  g_assert_true(
      g_file_test((dir.path + "/clips/cam 1/a+b=c~%.mp4").c_str(), G_FILE_TEST_IS_REGULAR));

  s3::ObjectInfo h = b->head("clips/cam 1/a+b=c~%.mp4");
  g_assert_cmpuint(h.size, ==, data.size());
  assert_str(h.etag, md5_hex(data));
  g_assert_true(g_str_has_suffix(h.last_modified.c_str(), " GMT"));

  g_assert_true(get_all(*b, "clips/cam 1/a+b=c~%.mp4") == data);
  g_assert_true(get_all(*b, "clips/cam 1/a+b=c~%.mp4", 1000, 5000) == data.substr(1000, 5000));
  g_assert_true(get_all(*b, "clips/cam 1/a+b=c~%.mp4", 699990) == data.substr(699990));
  g_assert_true(get_all(*b, "clips/cam 1/a+b=c~%.mp4", 699990, 100) == data.substr(699990));
  g_assert_true(error_of([&] { get_all(*b, "clips/cam 1/a+b=c~%.mp4", 800000); }) ==
                s3::ErrorKind::kRangeNotSatisfiable);
  g_assert_true(error_of([&] { b->head("clips/missing"); }) == s3::ErrorKind::kNotFound);
  g_assert_true(error_of([&] { get_all(*b, "missing"); }) == s3::ErrorKind::kNotFound);

  // UTF-8 keys, and put_file streamed from a file.
  std::string src = dir.path + "/../" + std::string(g_path_get_basename(dir.path.c_str())) + "-src";
  g_assert_true(g_file_set_contents(src.c_str(), data.data(), data.size(), nullptr));
  s3::ObjectInfo pf = b->put_file("caf\xc3\xa9/\xe6\x97\xa5.bin", src);
  g_unlink(src.c_str());
  assert_str(pf.etag, md5_hex(data));
  g_assert_true(get_all(*b, "caf\xc3\xa9/\xe6\x97\xa5.bin") == data);

  // get_to_file
  std::string out = dir.path + "/../" + std::string(g_path_get_basename(dir.path.c_str())) + "-out";
  b->get_to_file("caf\xc3\xa9/\xe6\x97\xa5.bin", out);
  g_assert_true(file_contents(out) == data);
  g_unlink(out.c_str());
}

// A streamed upload into a folder: nothing under the key until complete(); an aborted one (or
// one dropped unfinished) leaves nothing; If-None-Match holds.
void test_streamed_upload() {
  TempDir dir;
  auto b = open_local(dir.path);
  std::string data;
  for (int i = 0; i < 300000; i++)
    data += static_cast<char>('a' + (i * 11) % 26);
  s3::PutOptions opts;
  opts.if_none_match = true;
  {
    auto up = b->open_upload("up/whole.bin", opts);
    up->write(std::string_view(data).substr(0, 1000));
    up->write(std::string_view(data).substr(1000));
    g_assert_cmpuint(up->size(), ==, data.size());
    g_assert_true(error_of([&] { b->head("up/whole.bin"); }) == s3::ErrorKind::kNotFound);
    s3::ObjectInfo info = up->complete();
    assert_str(info.etag, md5_hex(data));
  }
  std::string got;
  b->get("up/whole.bin", 0, -1, [&](const char *p, std::size_t n) { got.append(p, n); });
  g_assert_true(got == data);
  {
    auto up = b->open_upload("up/aborted.bin");
    up->write(data);
    up->abort();
  }
  {
    auto up = b->open_upload("up/dropped.bin");
    up->write(data);
  }
  std::vector<s3::ObjectInfo> objects;
  b->list_all("up/", "", &objects);
  g_assert_cmpuint(objects.size(), ==, 1);
  auto again = b->open_upload("up/whole.bin", opts);
  again->write("other");
  g_assert_true(error_of([&] { again->complete(); }) == s3::ErrorKind::kPreconditionFailed);
  g_assert_cmpuint(b->pending_uploads("").size(), ==, 0);
}

void test_reader() {
  TempDir dir;
  auto b = open_local(dir.path);
  std::string data(100000, 'x');
  for (std::size_t i = 0; i < data.size(); i++)
    data[i] = static_cast<char>(i * 31 % 251);
  b->put_data("r", data);
  auto r = b->open_reader("r", 500, 40000);
  std::string got;
  char buf[7000];
  while (std::size_t n = r->read(buf, sizeof buf))
    got.append(buf, n);
  g_assert_true(got == data.substr(500, 40000));
  g_assert_cmpuint(r->offset(), ==, 40500);
  auto r2 = b->open_reader("r", 99000);
  got.clear();
  while (std::size_t n = r2->read(buf, sizeof buf))
    got.append(buf, n);
  g_assert_true(got == data.substr(99000));
  r2->cancel();
  g_assert_true(error_of([&] { r2->read(buf, 1); }) == s3::ErrorKind::kCancelled);
}

void test_listing() {
  TempDir dir;
  auto b = open_local(dir.path);
  std::vector<std::string> keys = {"a",     "a/b",        "a/c/d", "a/c/e", "a0", "b/x y",
                                   "b/x+y", "b/\xc3\xa9", "b/z",   "c.mp4", "A"};
  // "a" and "a/b" cannot both be files: keep the ones a folder tree can hold.
  keys.erase(std::remove(keys.begin(), keys.end(), "a"), keys.end());
  for (const auto &k : keys)
    b->put_data(k, "data of " + k);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());

  std::vector<s3::ObjectInfo> all;
  b->list_all("", "", &all);
  g_assert_cmpuint(all.size(), ==, sorted.size());
  for (std::size_t i = 0; i < all.size(); i++) {
    assert_str(all[i].key, sorted[i]);
    assert_str(all[i].etag, md5_hex("data of " + sorted[i]));
    g_assert_cmpuint(all[i].size, ==, ("data of " + sorted[i]).size());
  }

  // Delimiter: common prefixes collapse, in order with the objects.
  std::vector<s3::ObjectInfo> top;
  std::vector<std::string> prefixes;
  b->list_all("", "/", &top, &prefixes);
  g_assert_cmpuint(top.size(), ==, 3);
  assert_str(top[0].key, "A");
  assert_str(top[1].key, "a0");
  assert_str(top[2].key, "c.mp4");
  g_assert_cmpuint(prefixes.size(), ==, 2);
  assert_str(prefixes[0], "a/");
  assert_str(prefixes[1], "b/");

  std::vector<s3::ObjectInfo> under_a;
  prefixes.clear();
  b->list_all("a/", "/", &under_a, &prefixes);
  g_assert_cmpuint(under_a.size(), ==, 1);
  assert_str(under_a[0].key, "a/b");
  g_assert_cmpuint(prefixes.size(), ==, 1);
  assert_str(prefixes[0], "a/c/");

  // A prefix that is not a folder boundary.
  std::vector<s3::ObjectInfo> bx;
  b->list_all("b/x", "", &bx);
  g_assert_cmpuint(bx.size(), ==, 2);
  assert_str(bx[0].key, "b/x y");
  assert_str(bx[1].key, "b/x+y");

  // Paging with max-keys 2, prefixes counted like keys.
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    s3::ListPage p = b->list_page("", "/", token, 2);
    pages++;
    for (auto &o : p.objects)
      seen.push_back(o.key);
    for (auto &c : p.common_prefixes)
      seen.push_back(c);
    g_assert_cmpuint(p.objects.size() + p.common_prefixes.size(), <=, 2);
    token = p.truncated ? p.next_token : "";
  } while (!token.empty());
  g_assert_cmpint(pages, ==, 3);
  std::sort(seen.begin(), seen.end());
  std::vector<std::string> expect = {"A", "a/", "a0", "b/", "c.mp4"};
  g_assert_true(seen == expect);

  std::vector<s3::ObjectInfo> none;
  b->list_all("zzz/", "/", &none);
  g_assert_cmpuint(none.size(), ==, 0);
}

void test_copy_remove_conditional() {
  TempDir dir;
  auto b = open_local(dir.path);
  b->put_data("src/one", "hello");
  s3::ObjectInfo c = b->copy("src/one", "dst/deep/two");
  assert_str(c.etag, md5_hex("hello"));
  g_assert_true(get_all(*b, "dst/deep/two") == "hello");
  g_assert_true(error_of([&] { b->copy("src/none", "x"); }) == s3::ErrorKind::kNotFound);

  s3::PutOptions once;
  once.if_none_match = true;
  b->put_data("claim", "first", once);
  g_assert_true(error_of([&] { b->put_data("claim", "second", once); }) ==
                s3::ErrorKind::kPreconditionFailed);
  g_assert_true(get_all(*b, "claim") == "first");

  b->remove("dst/deep/two");
  g_assert_true(error_of([&] { b->head("dst/deep/two"); }) == s3::ErrorKind::kNotFound);
  // The emptied folders go away, as an S3 listing would show.
  g_assert_false(g_file_test((dir.path + "/dst").c_str(), G_FILE_TEST_EXISTS));
  b->remove("never/existed");  // like S3: no error

  // Overwrite replaces the content and the ETag.
  b->put_data("src/one", "changed!");
  assert_str(b->head("src/one").etag, md5_hex("changed!"));

  // A file changed behind the library's back gets a fresh ETag (the cached hash is keyed by
  // size and modification time).
  assert_str(b->head("claim").etag, md5_hex("first"));
  g_assert_true(g_file_set_contents((dir.path + "/claim").c_str(), "edited outside", -1, nullptr));
  assert_str(b->head("claim").etag, md5_hex("edited outside"));
  auto fresh = open_local(dir.path);  // no in-memory cache: the extended attribute or a rehash
  assert_str(fresh->head("claim").etag, md5_hex("edited outside"));
  b->remove("claim");

  // No temporary files are left behind or listed.
  std::vector<s3::ObjectInfo> all;
  b->list_all("", "", &all);
  g_assert_cmpuint(all.size(), ==, 1);
}

void test_bad_keys() {
  TempDir dir;
  auto b = open_local(dir.path + "/inner-missing/..");
  (void)b;
  g_assert_true(error_of([&] { open_local(dir.path + "/does-not-exist"); }) ==
                s3::ErrorKind::kNoSuchBucket);
  std::string inner = dir.path + "/root";
  g_mkdir(inner.c_str(), 0755);
  auto r = open_local(inner);
  for (const char *bad :
       {"../escape", "a/../../escape", "..", "a/./b", "a//b", "/abs", "dir/", ""}) {
    g_assert_true(error_of([&] { r->put_data(bad, "x"); }) == s3::ErrorKind::kInvalidArgument);
    g_assert_true(error_of([&] { r->head(bad); }) == s3::ErrorKind::kInvalidArgument);
  }
  g_assert_false(g_file_test((dir.path + "/escape").c_str(), G_FILE_TEST_EXISTS));
  g_assert_true(error_of([&] { r->presign("k", 60); }) == s3::ErrorKind::kInvalidArgument);
  // A file URL names an object rooted at "/".
  r->put_data("obj", "abc");
  s3::Url u = s3::Url::parse("file://" + inner + "/obj");
  auto root = s3::open_bucket(u, s3::Config{});
  g_assert_cmpuint(root->head(u.key).size, ==, 3);
}

// Issue 13, defect 4: links under a file:// bucket's folder never lead out of it. The recipe:
// a symlinked heatmaps/2025 made the batch write outside, the listing skipped it while HEAD
// followed it; a symlinked video outside the folder was read and published. Run once with
// openat2 and once with the per-component fallback.
void check_symlinks_confined(bool component_walk) {
  s3::internal::set_local_component_walk_for_tests(component_walk);
  TempDir root, outside;
  g_assert_cmpint(g_mkdir_with_parents((root.path + "/bucket/raw_videos/2025").c_str(), 0755), ==,
                  0);
  auto b = open_local(root.path + "/bucket");
  g_assert_cmpint(g_mkdir_with_parents((outside.path + "/2025/10").c_str(), 0755), ==, 0);
  g_assert_true(g_file_set_contents((outside.path + "/secret.mp4").c_str(), "SECRET", 6, nullptr));
  g_assert_true(
      g_file_set_contents((outside.path + "/2025/10/old.jpg").c_str(), "OLD", 3, nullptr));
  b->put_data("raw_videos/2025/real.mp4", "real");
  // A linked folder and a linked file inside the bucket, both pointing outside.
  g_assert_cmpint(symlink((outside.path).c_str(), (root.path + "/bucket/heatmaps").c_str()), ==, 0);
  g_assert_cmpint(symlink((outside.path + "/secret.mp4").c_str(),
                          (root.path + "/bucket/raw_videos/2025/linked.mp4").c_str()),
                  ==, 0);

  std::vector<s3::ObjectInfo> all;
  b->list_all("", "", &all);
  g_assert_cmpuint(all.size(), ==, 1);  // neither link is listed
  assert_str(all[0].key, "raw_videos/2025/real.mp4");
  for (const std::string &key :
       {std::string("raw_videos/2025/linked.mp4"), std::string("heatmaps/2025/10/old.jpg")}) {
    // HEAD, GET, the reader, copy from it, PUT over it, DELETE: one clear error each, no bytes.
    std::vector<std::function<void()>> ops = {
        [&] { b->head(key); },
        [&] { b->get(key, 0, -1, [](const char *, std::size_t) { g_error("bytes read"); }); },
        [&] { b->open_reader(key, 0); },
        [&] { b->copy(key, "copied.mp4"); },
        [&] { b->put_data(key, "overwritten"); },
        [&] { b->remove(key); },
    };
    for (auto &op : ops) {
      try {
        op();
        g_error("an operation on %s through a link succeeded", key.c_str());
      } catch (const s3::Error &e) {
        g_assert_true(e.kind() == s3::ErrorKind::kInvalidArgument);
        g_assert_nonnull(strstr(e.what(), "symbolic link"));
        g_assert_null(strchr(e.what(), '\n'));
      }
    }
  }
  // New keys under a linked folder are refused too (the batch wrote heatmaps outside).
  g_assert_true(error_of([&] { b->put_data("heatmaps/2025/10/new.jpg", "x"); }) ==
                s3::ErrorKind::kInvalidArgument);
  gchar *secret = nullptr;
  g_assert_true(
      g_file_get_contents((outside.path + "/secret.mp4").c_str(), &secret, nullptr, nullptr));
  assert_str(secret, "SECRET");  // the outside file was neither overwritten nor deleted
  g_free(secret);
  g_assert_false(g_file_test((outside.path + "/2025/10/new.jpg").c_str(), G_FILE_TEST_EXISTS));
  g_assert_true(g_file_test((outside.path + "/2025/10/old.jpg").c_str(), G_FILE_TEST_EXISTS));
  g_assert_true(g_file_test((root.path + "/bucket/raw_videos/2025/linked.mp4").c_str(),
                            G_FILE_TEST_IS_SYMLINK));
  g_assert_false(g_file_test((root.path + "/bucket/copied.mp4").c_str(), G_FILE_TEST_EXISTS));
  // A listing below the linked folder finds nothing and does not fail.
  std::vector<s3::ObjectInfo> below;
  b->list_all("heatmaps/2025/", "", &below);
  g_assert_cmpuint(below.size(), ==, 0);
  // A FIFO planted in the folder is not an object (and opening it must not block).
  g_assert_cmpint(mkfifo((root.path + "/bucket/raw_videos/fifo.mp4").c_str(), 0644), ==, 0);
  g_assert_true(error_of([&] { b->head("raw_videos/fifo.mp4"); }) == s3::ErrorKind::kNotFound);
  // The bucket's own root may be a link (the user chose it), and plain keys still work.
  g_assert_cmpint(symlink((root.path + "/bucket").c_str(), (root.path + "/alias").c_str()), ==, 0);
  auto alias = open_local(root.path + "/alias");
  g_assert_cmpuint(alias->head("raw_videos/2025/real.mp4").size, ==, 4);
  alias->put_data("heatmaps-real/2025/x.jpg", "jpg");
  g_assert_cmpuint(b->head("heatmaps-real/2025/x.jpg").size, ==, 3);
  b->remove("heatmaps-real/2025/x.jpg");
  g_assert_false(g_file_test((root.path + "/bucket/heatmaps-real").c_str(), G_FILE_TEST_EXISTS));
  s3::internal::set_local_component_walk_for_tests(false);
}

void test_symlinks_openat2() {
  check_symlinks_confined(false);
}

void test_symlinks_component_walk() {
  check_symlinks_confined(true);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/s3/local/put-get-head", test_put_get_head);
  g_test_add_func("/s3/local/reader", test_reader);
  g_test_add_func("/s3/local/streamed-upload", test_streamed_upload);
  g_test_add_func("/s3/local/listing", test_listing);
  g_test_add_func("/s3/local/copy-remove-conditional", test_copy_remove_conditional);
  g_test_add_func("/s3/local/bad-keys", test_bad_keys);
  g_test_add_func("/s3/local/symlinks-confined-openat2", test_symlinks_openat2);
  g_test_add_func("/s3/local/symlinks-confined-component-walk", test_symlinks_component_walk);
  return g_test_run();
}
