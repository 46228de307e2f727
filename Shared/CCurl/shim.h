#ifndef ATTACHE_CCURL_SHIM_H
#define ATTACHE_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic: one typed wrapper per argument kind.

// Also the shape of CURLOPT_READFUNCTION's callback (curl_read_callback).
typedef size_t (*attache_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode attache_curl_set_long(CURL *handle, CURLoption option, long value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode attache_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode attache_curl_set_string(CURL *handle, CURLoption option, const char *value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode attache_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode attache_curl_set_list(CURL *handle, CURLoption option, struct curl_slist *value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode attache_curl_set_callback(CURL *handle, CURLoption option,
                                                 attache_curl_data_callback value) {
  return curl_easy_setopt(handle, option, value);
}
// Spelled CURLOPT_MAIL_RCPT_ALLLOWFAILS before libcurl 8.2; Debian 12 has 7.88.
static inline CURLcode attache_curl_set_mail_rcpt_allowfails(CURL *handle, long value) {
#if LIBCURL_VERSION_NUM >= 0x080200
  return curl_easy_setopt(handle, CURLOPT_MAIL_RCPT_ALLOWFAILS, value);
#else
  return curl_easy_setopt(handle, CURLOPT_MAIL_RCPT_ALLLOWFAILS, value);
#endif
}
static inline CURLcode attache_curl_get_long(CURL *handle, CURLINFO info, long *value) {
  return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode attache_curl_get_double(CURL *handle, CURLINFO info, double *value) {
  return curl_easy_getinfo(handle, info, value);
}
#endif
