/*  test_vec.c - the one growable array: plain lists, sorted listings, pointer indexes.
*/
#include "check.h"
#include "vec.h"

#include <stdlib.h>

static int
s_int_order (const void *key, const void *item)
{
    int a = *(const int *) key, b = *(const int *) item;
    return a < b? -1: a > b;
}

static int
s_name_order (const void *key, const void *item)
{
    return strcmp (key, *(const char * const *) item);
}

static int
s_case_list (void)
{
    int failures = 0;
    vec_t list = VEC_OF (int);
    for (int i = 0; i < 1000; i++)
        CHECK (vec_push (&list, &i) != NULL);
    CHECK (list.count == 1000 && *(int *) vec_at (&list, 999) == 999);
    vec_remove (&list, 0);
    CHECK (list.count == 999 && *(int *) vec_at (&list, 0) == 1);
    vec_clear (&list);
    CHECK (list.count == 0 && list.capacity >= 1000);
    vec_free (&list);
    CHECK (list.items == NULL && list.capacity == 0 && list.item_size == sizeof (int));
    vec_free (NULL);
    return failures;
}

static int
s_case_sorted (void)
{
    int failures = 0;
    vec_t sorted = VEC_OF (int);
    int values [] = { 5, 1, 9, 3, 7, 3 };
    for (size_t i = 0; i < sizeof values / sizeof values [0]; i++) {
        size_t slot = vec_lower_bound (&sorted, &values [i], s_int_order);
        CHECK (vec_insert (&sorted, slot, &values [i]) != NULL);
    }
    int expected [] = { 1, 3, 3, 5, 7, 9 };
    for (size_t i = 0; i < 6; i++)
        CHECK (*(int *) vec_at (&sorted, i) == expected [i]);
    size_t index;
    int seven = 7, four = 4;
    CHECK (vec_find (&sorted, &seven, s_int_order, &index) && index == 4);
    CHECK (!vec_find (&sorted, &four, s_int_order, &index) && index == 3);
    vec_free (&sorted);
    return failures;
}

static int
s_case_pointers (void)
{
    int failures = 0;
    vec_t index = VEC_OF (char *);
    static char web2 [] = "web-2", db1 [] = "db-1", web1 [] = "web-1", db1_again [] = "db-1";
    char *names [] = { web2, db1, web1, db1_again };    // two distinct pointers named db-1
    for (size_t i = 0; i < 4; i++)
        CHECK (vec_insert_ptr (&index, names [i], s_name_order, names [i]) == 0);
    CHECK (strcmp (*(char **) vec_at (&index, 0), "db-1") == 0);
    CHECK (*(char **) vec_at (&index, 1) == names [3]);     // equal keys keep insertion order
    CHECK (vec_find_ptr (&index, "web-1", s_name_order) == names [2]);
    CHECK (vec_find_ptr (&index, "app", s_name_order) == NULL);
    CHECK (vec_remove_ptr (&index, "db-1", s_name_order, names [3]));
    CHECK (!vec_remove_ptr (&index, "db-1", s_name_order, names [3]));
    CHECK (index.count == 3 && vec_find_ptr (&index, "db-1", s_name_order) == names [1]);
    CHECK (vec_remove_ptr (&index, NULL, NULL, names [0]) && index.count == 2);
    vec_free (&index);
    return failures;
}

int
main (int argc, char **argv)
{
    static const check_case_t cases [] = {
        { "list", s_case_list },
        { "sorted", s_case_sorted },
        { "pointers", s_case_pointers },
    };
    return CHECK_RUN_ALL ("vec", cases, argc, argv)? 1: 0;
}
