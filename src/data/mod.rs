pub mod annotations;
