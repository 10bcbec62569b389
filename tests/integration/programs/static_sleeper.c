/*
 * static_sleeper.c — a statically linked program that sleeps: no library
 * can be loaded into it, so giltrace attach must refuse it in one line.
 */
#include <unistd.h>

int main(void)
{
    sleep(60);
    return 0;
}
