/*  plan_cmd.h - `vmsched-scheduler plan`: the offline balancing planner.

    Reads a vm-cluster-v1 file, makes the plan the balancer (balance.c) makes and prints it
    as vm-plan-v1 JSON or as text. The only clock it reads is the one timing the planning
    (elapsed_ms); `now` for the cooldown is the file's "time" unless --now says otherwise.
*/
#ifndef VMSCHED_PLAN_CMD_H
#define VMSCHED_PLAN_CMD_H

//  Run the command: argv [0] is "plan", the options follow (see the usage text). Prints the
//  plan on stdout, an error once on stderr. Returns the exit status: 0, 1 (the file or the
//  plan failed), 2 (usage).
int plan_cmd_main (int argc, char **argv);

#endif
