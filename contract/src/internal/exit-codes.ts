/**
 * The exit code with which a panel app asks its supervisor to start it again (command
 * `restart`): the OTA loader relaunches the bundle without counting a crash, systemd restarts
 * the unit (`RestartForceExitStatus=75`), the dev stack starts the panel again. 75 = EX_TEMPFAIL.
 */
export const RESTART_EXIT_CODE = 75;
