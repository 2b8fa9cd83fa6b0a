# The parts of `cmake --install` that depend on the prefix given at install
# time (--prefix), which install(FILES|DIRECTORY) alone cannot get right:
# the system configuration folder (/etc for the prefix /usr, as
# GNUInstallDirs has it), the links from it to the data folder, the
# configuration file (never overwritten: the operator's edits stay), and
# the systemd unit, whose paths name the prefix. Run by install(SCRIPT)
# after CMakeLists.txt set SIPSERVER_SRC, SIPSERVER_BIN_DIR (the build
# folder) and the relative GNUInstallDirs folders.

# An install folder: absolute as configured, or under the prefix
function(sipserver_dir out rel)
	if(IS_ABSOLUTE "${rel}")
		set(${out} "${rel}" PARENT_SCOPE)
	else()
		set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}" PARENT_SCOPE)
	endif()
endfunction()

# GNUInstallDirs' special case: the prefixes / and /usr keep their
# configuration in /etc, not /usr/etc
if(IS_ABSOLUTE "${SIPSERVER_SYSCONFDIR}")
	set(sysconf "${SIPSERVER_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/" OR
		CMAKE_INSTALL_PREFIX STREQUAL "/usr")
	set(sysconf "/${SIPSERVER_SYSCONFDIR}")
else()
	set(sysconf "${CMAKE_INSTALL_PREFIX}/${SIPSERVER_SYSCONFDIR}")
endif()
set(confdir "${sysconf}/sipserver")
sipserver_dir(bindir "${SIPSERVER_BINDIR}")
sipserver_dir(datadir "${SIPSERVER_DATADIR}/sipserver")
sipserver_dir(docdir "${SIPSERVER_DOCDIR}")
sipserver_dir(unitdir "${SIPSERVER_UNITDIR}")
sipserver_dir(sysusersdir "${SIPSERVER_SYSUSERSDIR}")
set(dest "$ENV{DESTDIR}")

# The configuration: installed once, then the operator's
file(MAKE_DIRECTORY "${dest}${confdir}")
if(EXISTS "${dest}${confdir}/sipserver.conf")
	message(STATUS "Kept (not overwritten): ${dest}${confdir}/sipserver.conf")
else()
	file(INSTALL "${SIPSERVER_SRC}/etc/sipserver.conf"
		DESTINATION "${dest}${confdir}"
		PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()

# Relative paths of the configuration (music/on_hold, web) resolve from
# its folder, as etc/music does in the source tree
foreach(name music web)
	if(EXISTS "${dest}${datadir}/${name}")
		message(STATUS "Link: ${dest}${confdir}/${name} -> ${datadir}/${name}")
		file(REMOVE "${dest}${confdir}/${name}")
		file(CREATE_LINK "${datadir}/${name}" "${dest}${confdir}/${name}"
			SYMBOLIC)
	endif()
endforeach()

# The unit, with this prefix's paths
set(BINDIR "${bindir}")
set(CONFDIR "${confdir}")
set(DOCDIR "${docdir}")
configure_file("${SIPSERVER_SRC}/packaging/sipserver.service.in"
	"${SIPSERVER_BIN_DIR}/packaging/sipserver.service" @ONLY)
file(INSTALL "${SIPSERVER_BIN_DIR}/packaging/sipserver.service"
	DESTINATION "${dest}${unitdir}")
file(INSTALL "${SIPSERVER_SRC}/packaging/sipserver.sysusers"
	DESTINATION "${dest}${sysusersdir}" RENAME sipserver.conf)
