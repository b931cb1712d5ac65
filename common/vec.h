/*  vec.h - the one growable array: contiguous items of one size, optionally kept sorted.

    Every list in vmsched (mutations, outbound messages, replies waiting for a commit, hosts
    and VMs in name order, lookup indexes) is a vec_t. It owns its storage, never the
    items' own allocations: a vec of pointers frees only the pointer array. Sorted use is
    by binary search with a caller's comparison of a key against an item, so one vec can be
    an ordered listing and another, of the same pointers, an index by a different key.
    Growth doubles the capacity; pointers into the array are valid until the next insert.
*/
#ifndef VMSCHED_VEC_H
#define VMSCHED_VEC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *items;                // owned storage of capacity * item_size bytes
    size_t item_size;           // bytes per item
    size_t count;               // items in use
    size_t capacity;            // items allocated
} vec_t;

//  Compares a key with an item (pointer to the stored item): <0, 0, >0 like strcmp.
typedef int (vec_compare_fn) (const void *key, const void *item);

//  An empty vec of items of item_size bytes (no allocation yet).
#define VEC_OF(type) ((vec_t) { NULL, sizeof (type), 0, 0 })
void vec_init (vec_t *self, size_t item_size);

//  Free the storage and reset to empty (item_size kept). NULL-safe.
void vec_free (vec_t *self);

//  Forget every item, keeping the storage.
void vec_clear (vec_t *self);

//  Make room for at least count items in all. 0, or -1 when out of memory (unchanged).
int vec_reserve (vec_t *self, size_t count);

//  Append a copy of item; returns the stored copy, or NULL when out of memory.
void *vec_push (vec_t *self, const void *item);

//  Insert a copy of item at index (0..count), shifting the rest up. The stored copy or NULL.
void *vec_insert (vec_t *self, size_t index, const void *item);

//  Remove the item at index (< count), shifting the rest down.
void vec_remove (vec_t *self, size_t index);

//  The item at index (< count); borrowed.
void *vec_at (const vec_t *self, size_t index);

//  Sorted vec: the first index whose item does not compare below key (count if none).
size_t vec_lower_bound (const vec_t *self, const void *key, vec_compare_fn *compare);

//  Sorted vec: the item equal to key, or NULL; *index (if not NULL) gets its index or the
//  index where it would be inserted.
void *vec_find (const vec_t *self, const void *key, vec_compare_fn *compare, size_t *index);

//  Sorted vec of pointers: the pointer stored equal to key, or NULL.
void *vec_find_ptr (const vec_t *self, const void *key, vec_compare_fn *compare);

//  Sorted vec of pointers: insert ptr at its place by key (after equal ones). 0 or -1.
int vec_insert_ptr (vec_t *self, const void *key, vec_compare_fn *compare, void *ptr);

//  Vec of pointers: remove the entry holding ptr (searched from key's place when compare is
//  given, else linearly). True when it was there.
bool vec_remove_ptr (vec_t *self, const void *key, vec_compare_fn *compare, const void *ptr);

#endif
