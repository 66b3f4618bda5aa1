#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "enclave/secret.h"

static int
setup(void **state)
{
	return secret_init();
}

/* Runs fn(arg) in a child and returns the signal that killed it (0 if it exited). */
static int
child_signal(void (*fn)(void *), void *arg)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The default action, not a sanitizer's handler: the test wants
		 * the kernel's verdict. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static volatile uint8_t sink;

static void
read_byte(void *arg)
{
	sink = *(volatile uint8_t *)arg;
}

static void
release_unbalanced(void *arg)
{
	secret_release(arg);
}

static void
test_new_zeroed(void **state)
{
	struct secret *s = secret_new(100);
	uint8_t *p;

	(void)state;
	assert_int_equal(secret_len(s), 100);
	p = secret_acquire(s);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0x5a, 100);
	secret_release(s);
	p = secret_acquire(s);
	assert_int_equal(p[0], 0x5a);
	assert_int_equal(p[99], 0x5a);
	secret_release(s);
	secret_wipe(s);
	p = secret_acquire(s);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	secret_release(s);
	secret_free(s);
	secret_free(NULL);
}

/* Nested acquires share one opening; the pages close only at the last release. */
static void
test_nesting_and_noaccess(void **state)
{
	struct secret *s = secret_new(32);
	uint8_t *p, *q;

	(void)state;
	p = secret_acquire(s);
	p[0] = 0x11;
	q = secret_acquire(s);
	assert_ptr_equal(p, q);
	secret_release(s);
	/* Still open: one user left. */
	assert_int_equal(child_signal(read_byte, p), 0);
	assert_int_equal(p[0], 0x11);
	secret_release(s);
	/* Idle: PROT_NONE, a read faults. */
	assert_int_equal(child_signal(read_byte, p), SIGSEGV);
	/* Opened again, readable again. */
	p = secret_acquire(s);
	assert_int_equal(child_signal(read_byte, p), 0);
	secret_release(s);
	assert_int_equal(child_signal(read_byte, p), SIGSEGV);
	secret_free(s);
}

/* Lingering: the last release leaves the pages open for a while, the closer
 * thread closes them once idle; reuse meanwhile needs no mprotect. */
static void
test_linger(void **state)
{
	struct secret *s = secret_new(32);
	uint8_t *p;

	(void)state;
	assert_int_equal(secret_linger_start(40), 0);
	p = secret_acquire(s);
	p[0] = 0x22;
	secret_release(s);
	assert_int_equal(child_signal(read_byte, p), 0);	/* still open */
	/* Used again before the closer ran: the same open pages. */
	assert_ptr_equal(secret_acquire(s), p);
	assert_int_equal(p[0], 0x22);
	secret_release(s);
	usleep(200 * 1000);	/* > 2 x 40 ms */
	assert_int_equal(child_signal(read_byte, p), SIGSEGV);
	/* Open again after being closed. */
	p = secret_acquire(s);
	assert_int_equal(p[0], 0x22);
	secret_release(s);
	/* Stopping closes whatever lingers, at once. */
	secret_linger_stop();
	assert_int_equal(child_signal(read_byte, p), SIGSEGV);
	/* Without lingering, the last release closes again. */
	p = secret_acquire(s);
	secret_release(s);
	assert_int_equal(child_signal(read_byte, p), SIGSEGV);
	/* A lingering secret can be freed. */
	assert_int_equal(secret_linger_start(1000), 0);
	secret_acquire(s);
	secret_release(s);
	secret_free(s);
	secret_linger_stop();
}

/* The per-thread scratch buffer stays readable while idle (it is wiped by
 * its users) and is the same buffer on every call of one thread. */
static void
test_scratch_open(void **state)
{
	struct secret *s = secret_scratch();
	uint8_t *p;

	(void)state;
	assert_ptr_equal(secret_scratch(), s);
	assert_int_equal(secret_len(s), SECRET_SCRATCH_BYTES);
	p = secret_acquire(s);
	secret_release(s);
	assert_int_equal(child_signal(read_byte, p), 0);
}

/* A release without an acquire is a bug: it aborts. */
static void
test_unbalanced_release_aborts(void **state)
{
	struct secret *s = secret_new(8);

	(void)state;
	assert_int_equal(child_signal(release_unbalanced, s), SIGABRT);
	secret_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_zeroed),
		cmocka_unit_test(test_nesting_and_noaccess),
		cmocka_unit_test(test_unbalanced_release_aborts),
		cmocka_unit_test(test_linger),
		cmocka_unit_test(test_scratch_open),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
