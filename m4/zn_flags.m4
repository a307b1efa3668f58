# SPDX-License-Identifier: GPL-2.0-or-later
# ZN_CFLAGS_TRY(FLAGS, VARIABLE): append FLAGS to VARIABLE when the compiler accepts them
# (with -Werror, so a flag that only warns is not taken). Sets zn_flag_ok.
AC_DEFUN([ZN_CFLAGS_TRY], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  zn_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS -Werror $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])], [zn_flag_ok=yes], [zn_flag_ok=no])
  CFLAGS=$zn_save_CFLAGS
  AC_MSG_RESULT([$zn_flag_ok])
  AS_IF([test "x$zn_flag_ok" = xyes], [$2="$$2 $1"])
])
# ZN_LDFLAGS_TRY(FLAGS, VARIABLE): the same for linker flags.
AC_DEFUN([ZN_LDFLAGS_TRY], [
  AC_MSG_CHECKING([whether the linker accepts $1])
  zn_save_LDFLAGS=$LDFLAGS
  LDFLAGS="$LDFLAGS -Werror $1"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [zn_flag_ok=yes], [zn_flag_ok=no])
  LDFLAGS=$zn_save_LDFLAGS
  AC_MSG_RESULT([$zn_flag_ok])
  AS_IF([test "x$zn_flag_ok" = xyes], [$2="$$2 $1"])
])
