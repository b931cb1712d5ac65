/*  state_file.h - files in the agent's STATE_DIR (host id, witness blocks, lease), replaced
    whole: written to NAME.tmp, then renamed over NAME, so a reader sees the old file or the
    new one, never half of one.
*/
#ifndef VMSCHED_STATE_FILE_H
#define VMSCHED_STATE_FILE_H

#include <stdbool.h>
#include <stddef.h>

//  Writes text to STATE_DIR/NAME through NAME.tmp; durable: fsyncs the file and the
//  directory first (it survives a power loss once this returns). 0, or -1 with the reason
//  in err ("cannot write 'PATH': ...", "cannot sync directory 'DIR': ...").
int state_file_write (const char *state_dir, const char *name, const char *text,
                      bool durable, char *err, size_t err_size);

#endif
