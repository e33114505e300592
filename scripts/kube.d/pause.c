/* The sandbox process of every pod on scripts/kube's node: holds the pod's namespaces and
   waits until it is told to stop. */
#include <signal.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  for (;;) pause();
}
