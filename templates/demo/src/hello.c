#include <stdio.h>

int main(void) {
    printf("hello from git-pipeline\n");
    return 0;
}
