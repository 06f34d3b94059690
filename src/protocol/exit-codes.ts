/** bangerd's exit code when another daemon owns the state dir: a racing starter just waits. */
export const EXIT_ALREADY_RUNNING = 3;
