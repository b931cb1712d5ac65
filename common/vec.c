/*  vec.c - the one growable array (see vec.h).
*/
#include "vec.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
vec_init (vec_t *self, size_t item_size)
{
    *self = (vec_t) { NULL, item_size, 0, 0 };
}

void
vec_free (vec_t *self)
{
    if (!self)
        return;
    free (self->items);
    vec_init (self, self->item_size);
}

void
vec_clear (vec_t *self)
{
    self->count = 0;
}

int
vec_reserve (vec_t *self, size_t count)
{
    assert (self->item_size > 0);
    if (count <= self->capacity)
        return 0;
    size_t capacity = self->capacity? self->capacity: 8;
    while (capacity < count)
        capacity *= 2;
    if (capacity > SIZE_MAX / self->item_size)
        return -1;
    char *items = realloc (self->items, capacity * self->item_size);
    if (!items)
        return -1;
    self->items = items;
    self->capacity = capacity;
    return 0;
}

void *
vec_insert (vec_t *self, size_t index, const void *item)
{
    assert (index <= self->count);
    if (vec_reserve (self, self->count + 1))
        return NULL;
    char *slot = self->items + index * self->item_size;
    memmove (slot + self->item_size, slot, (self->count - index) * self->item_size);
    memcpy (slot, item, self->item_size);
    self->count++;
    return slot;
}

void *
vec_push (vec_t *self, const void *item)
{
    return vec_insert (self, self->count, item);
}

void
vec_remove (vec_t *self, size_t index)
{
    assert (index < self->count);
    char *slot = self->items + index * self->item_size;
    memmove (slot, slot + self->item_size, (self->count - index - 1) * self->item_size);
    self->count--;
}

void *
vec_at (const vec_t *self, size_t index)
{
    assert (index < self->count);
    return self->items + index * self->item_size;
}

size_t
vec_lower_bound (const vec_t *self, const void *key, vec_compare_fn *compare)
{
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (compare (key, self->items + mid * self->item_size) > 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

void *
vec_find (const vec_t *self, const void *key, vec_compare_fn *compare, size_t *index)
{
    size_t slot = vec_lower_bound (self, key, compare);
    if (index)
        *index = slot;
    if (slot < self->count && compare (key, vec_at (self, slot)) == 0)
        return vec_at (self, slot);
    return NULL;
}

void *
vec_find_ptr (const vec_t *self, const void *key, vec_compare_fn *compare)
{
    void **found = vec_find (self, key, compare, NULL);
    return found? *found: NULL;
}

int
vec_insert_ptr (vec_t *self, const void *key, vec_compare_fn *compare, void *ptr)
{
    size_t slot = vec_lower_bound (self, key, compare);
    while (slot < self->count && compare (key, vec_at (self, slot)) == 0)
        slot++;
    return vec_insert (self, slot, &ptr)? 0: -1;
}

bool
vec_remove_ptr (vec_t *self, const void *key, vec_compare_fn *compare, const void *ptr)
{
    size_t slot = compare? vec_lower_bound (self, key, compare): 0;
    for (; slot < self->count; slot++) {
        void **entry = vec_at (self, slot);
        if (*entry == ptr) {
            vec_remove (self, slot);
            return true;
        }
        if (compare && compare (key, entry) != 0)
            break;
    }
    return false;
}
