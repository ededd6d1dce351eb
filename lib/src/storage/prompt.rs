//! Asking the user for a storage password or key passphrase, for remotes that set DVC's
//! `ask_password` or `ask_passphrase`.
//!
//! The program in `GIT_ASKPASS` or `SSH_ASKPASS` is run when one is set, as git does.
//! Otherwise the prompt goes to the controlling terminal with echo turned off.
//! Standard input is never read: in the remote helper it belongs to git.

use std::io::{IsTerminal, Read, Write};
use std::process::{Command, Stdio};

use super::OpenError;
use crate::config::RemoteConfig;
use crate::redact;

/// Asks for the password of `user` when a remote sets `ask_password`.
pub(crate) fn ask_password(remote: &RemoteConfig, user: &str) -> Result<String, OpenError> {
    let prompt = format!(
        "Password for {user} at storage {:?} ({}): ",
        remote.name,
        remote.redacted_url()
    );
    ask(remote, &prompt, "password")
}

/// Asks for the passphrase of the private key `keyfile` when a remote sets `ask_passphrase`.
pub(crate) fn ask_passphrase(remote: &RemoteConfig, keyfile: &str) -> Result<String, OpenError> {
    let prompt = format!(
        "Passphrase for key {keyfile} of storage {:?} ({}): ",
        remote.name,
        remote.redacted_url()
    );
    ask(remote, &prompt, "passphrase")
}

/// Shows `prompt` and returns the value typed. `option` names the DVC option that stores it.
fn ask(remote: &RemoteConfig, prompt: &str, option: &str) -> Result<String, OpenError> {
    for variable in ["GIT_ASKPASS", "SSH_ASKPASS"] {
        let Some(program) = std::env::var_os(variable).filter(|p| !p.is_empty()) else {
            continue;
        };
        let output = Command::new(&program)
            .arg(prompt)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| OpenError::client(remote, &e))?;
        if output.status.success() {
            let answer = String::from_utf8_lossy(&output.stdout)
                .trim_end_matches(['\r', '\n'])
                .to_owned();
            redact::register(&answer);
            return Ok(answer);
        }
    }

    let no_terminal = || OpenError::NoCredentials {
        remote: remote.name.clone(),
        hint: format!(
            "ask_{option} is set but there is no terminal to ask on; store the {option} with \
             `dvc remote modify --local {} {option} VALUE` or set GIT_ASKPASS",
            remote.name
        ),
    };
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_terminal())?;
    if !tty.is_terminal() {
        return Err(no_terminal());
    }

    tty.write_all(prompt.as_bytes())
        .map_err(|_| no_terminal())?;
    let _ = stty("-echo");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let read = loop {
        match tty.read(&mut byte) {
            Ok(1) if byte[0] != b'\n' => line.push(byte[0]),
            Ok(_) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    let _ = stty("echo");
    let _ = tty.write_all(b"\n");
    read.map_err(|_| no_terminal())?;

    let answer = String::from_utf8_lossy(&line)
        .trim_end_matches('\r')
        .to_owned();
    redact::register(&answer);
    Ok(answer)
}

/// Runs `stty` on the controlling terminal, to turn echo off and back on.
fn stty(setting: &str) -> std::io::Result<()> {
    let terminal = std::fs::File::open("/dev/tty")?;
    Command::new("stty")
        .arg(setting)
        .stdin(terminal)
        .status()
        .map(|_| ())
}
