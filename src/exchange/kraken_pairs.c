#include "exchange/kraken_pairs.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct kraken_pairs {
	struct kraken_pair *v;
	size_t n;
	const struct kraken_pair **by_id;	/* into v, sorted by id */
	const struct kraken_pair **by_alt;	/* into v, sorted by altname */
};

/* ccxt kraken.js commonCurrencies, merged over the base Exchange's. */
static const struct {
	const char *from, *to;
} common[] = {
	{ "BCC", "BCH" }, { "BCHSV", "BSV" }, { "LUNA", "LUNC" }, { "LUNA2", "LUNA" }, { "REP", "REPV1" },
	{ "REPV2", "REP" }, { "UST", "USTC" }, { "XBT", "BTC" }, { "XBT.M", "BTC.M" }, { "XDG", "DOGE" },
};

struct kraken_pairs *
kraken_pairs_new(void)
{
	return xcalloc(1, sizeof(struct kraken_pairs));
}

void
kraken_pairs_free(struct kraken_pairs *p)
{
	if (p == NULL)
		return;
	free(p->v);
	free(p->by_id);
	free(p->by_alt);
	free(p);
}

int
kraken_asset_code(const char *s, size_t len, char out[FILL_CUR_MAX])
{
	if (len > 3 && (s[0] == 'X' || s[0] == 'Z') && memchr(s, '.', len) == NULL)
		s++, len--;
	if (len == 0 || len >= FILL_CUR_MAX)
		return -1;
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (strlen(common[i].from) == len && memcmp(common[i].from, s, len) == 0) {
			s = common[i].to;
			len = strlen(s);
			break;
		}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int
make_symbol(struct kraken_pair *kp, const char *base, size_t blen, const char *quote, size_t qlen)
{
	char b[FILL_CUR_MAX];

	if (kraken_asset_code(base, blen, b) == -1 || kraken_asset_code(quote, qlen, kp->quote) == -1)
		return -1;
	if (strlen(b) + strlen(kp->quote) + 2 > sizeof(kp->symbol))
		return -1;
	strcpy(kp->symbol, b);
	strcat(kp->symbol, "/");
	strcat(kp->symbol, kp->quote);
	return 0;
}

static int
copy_str(char *dst, size_t cap, const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || json_string_length(v) == 0 || json_string_length(v) >= cap)
		return -1;
	memcpy(dst, s, json_string_length(v) + 1);
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp((*(const struct kraken_pair *const *)a)->id, (*(const struct kraken_pair *const *)b)->id);
}

static int
cmp_alt(const void *a, const void *b)
{
	return strcmp((*(const struct kraken_pair *const *)a)->altname, (*(const struct kraken_pair *const *)b)->altname);
}

int
kraken_pairs_load(struct kraken_pairs *p, json_t *result, const char **errstr)
{
	struct kraken_pairs t = { 0 };
	const char *key;
	json_t *m;
	size_t i = 0;

	if (!json_is_object(result)) {
		*errstr = "AssetPairs: result is not an object";
		return -1;
	}
	t.v = xcalloc(json_object_size(result) + 1, sizeof(*t.v));
	json_object_foreach(result, key, m) {
		struct kraken_pair *kp = &t.v[i];
		const char *b, *q;
		if (strlen(key) >= sizeof(kp->id) || copy_str(kp->altname, sizeof(kp->altname), json_object_get(m, "altname")) == -1 ||
		    (b = json_string_value(json_object_get(m, "base"))) == NULL ||
		    (q = json_string_value(json_object_get(m, "quote"))) == NULL ||
		    make_symbol(kp, b, strlen(b), q, strlen(q)) == -1) {
			free(t.v);
			*errstr = "AssetPairs: malformed pair";
			return -1;
		}
		strcpy(kp->id, key);
		if (strstr(key, ".d") != NULL)
			strcpy(kp->symbol, kp->altname);
		i++;
	}
	t.n = i;
	t.by_id = xcalloc(t.n + 1, sizeof(*t.by_id));
	t.by_alt = xcalloc(t.n + 1, sizeof(*t.by_alt));
	for (i = 0; i < t.n; i++)
		t.by_id[i] = t.by_alt[i] = &t.v[i];
	qsort(t.by_id, t.n, sizeof(*t.by_id), cmp_id);
	qsort(t.by_alt, t.n, sizeof(*t.by_alt), cmp_alt);
	free(p->v);
	free(p->by_id);
	free(p->by_alt);
	*p = t;
	return 0;
}

size_t
kraken_pairs_count(const struct kraken_pairs *p)
{
	return p->n;
}

/* Binary search of the pointer array v (sorted by the string at offset off
 * of each pair) for name. */
static const struct kraken_pair *
lookup(const struct kraken_pair *const *v, size_t n, size_t off, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp((const char *)v[mid] + off, name);
		if (c == 0)
			return v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
kraken_pairs_resolve(const struct kraken_pairs *p, const char *name, struct kraken_pair *out, const char **errstr)
{
	const struct kraken_pair *kp;
	size_t len = strlen(name), bl;

	/* altname first, as ccxt */
	if ((kp = lookup(p->by_alt, p->n, offsetof(struct kraken_pair, altname), name)) != NULL ||
	    (kp = lookup(p->by_id, p->n, offsetof(struct kraken_pair, id), name)) != NULL) {
		*out = *kp;
		return 0;
	}
	/* delisted: ccxt getDelistedMarketById splits by length */
	memset(out, 0, sizeof(*out));
	if (len < 6 || len >= sizeof(out->id)) {
		*errstr = "unknown pair";
		return -1;
	}
	bl = len == 8 || len == 7 ? 4 : 3;
	if (make_symbol(out, name, bl, name + bl, len == 8 || len == 7 ? len - 4 : 3) == -1) {
		*errstr = "unknown pair";
		return -1;
	}
	strcpy(out->id, name);
	strcpy(out->altname, name);
	return 0;
}

const struct kraken_pair *
kraken_pairs_by_symbol(const struct kraken_pairs *p, const char *symbol)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].symbol, symbol) == 0)
			return &p->v[i];
	return NULL;
}
